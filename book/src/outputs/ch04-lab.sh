#!/bin/sh
# Chapter 4's labs 1, 2, 3 and 5, typed in /tmp/lab4 with the chapter's
# program on PATH. Not recorded: Docker's save/load (no Docker here) and
# Lab 6's timings (the page marks them illustrative).
# Dates of files (ls -l, tar -tv) change on every run.
# filter: /\b[A-Z][a-z]{2} +\d+ \d\d:\d\d\b/Nov 29 11:21/
# filter: /\b\d{4}-\d\d-\d\d \d\d:\d\d\b/2025-01-01 12:00/
@ export MYDOCKER_ROOT=/tmp/lab4/root
@ mkdir -p /tmp/lab4 && cd /tmp/lab4
@ cp /root/busybox.tar busybox.tar
# ANCHOR: import
ch04-images import busybox.tar busybox
find root/layers -maxdepth 3 | sort
sha256sum busybox.tar
# ANCHOR_END: import
# ANCHOR: change
ch04-images run --name a busybox sh -c 'mkdir /data && echo hello > /data/f &&
    rm /etc/passwd && rm -r /var/www && mkdir /var/www && echo new > /var/www/index.html'
ls -l root/containers/*/upper/etc
getfattr -n trusted.overlay.opaque root/containers/*/upper/var/www
# ANCHOR_END: change
# ANCHOR: commit
ch04-images commit a withdata
ch04-images save withdata -o withdata.tar
tar -xOf withdata.tar manifest.json
layer=$(tar -xOf withdata.tar manifest.json | grep -o 'blobs/sha256/[0-9a-f]*' | tail -1)
tar -xOf withdata.tar $layer | tar -tv
ls root/layers/sha256 | wc -l
# ANCHOR_END: commit
# ANCHOR: nginx
ch04-images run -name a2 busybox sh -c \
    "printf '#!/bin/sh\necho nginx is serving\n' > /bin/nginx && chmod +x /bin/nginx"
ch04-images commit a2 nginx-alpine
ch04-images run -name bird nginx-alpine nginx
# ANCHOR_END: nginx
# ANCHOR: export
ch04-images run --name exp busybox sh -c 'echo configured > /etc/motd'
ch04-images export exp -o exported.tar
tar -tf exported.tar | grep -e motd -e '\.wh\.'
ch04-images import exported.tar mybase
ch04-images run --name motd mybase cat /etc/motd
ch04-images run mybase; echo "exit $?"
# ANCHOR_END: export
# ANCHOR: skopeo
skopeo inspect docker-archive:withdata.tar | grep -A3 Layers
skopeo copy --quiet docker-archive:withdata.tar oci:layout:withdata:v2   # quiet: it copies blobs in parallel, in no fixed order
ls layout/blobs/sha256 | wc -l
ch04-images load -i layout
umoci unpack --image layout:withdata:v2 bundle && ls bundle/rootfs/data
# ANCHOR_END: skopeo
# Lab 4: should a regression let an archive out, it must not reach the
# machine's /etc/cron.d: a tmpfs covers it in this lab's mount namespace.
@ mount -t tmpfs lab4-cron /etc/cron.d
# ANCHOR: hostile
python3 - <<'EOF'
import tarfile, io
def mk(name, entries):
    with tarfile.open(name, 'w') as t:
        for kind, path, arg in entries:
            ti = tarfile.TarInfo(path)
            if kind == 'file': ti.size = len(arg); t.addfile(ti, io.BytesIO(arg))
            elif kind == 'sym': ti.type = tarfile.SYMTYPE; ti.linkname = arg; t.addfile(ti)
            elif kind == 'hard': ti.type = tarfile.LNKTYPE; ti.linkname = arg; t.addfile(ti)
mk('abs.tar', [('file', '/etc/cron.d/evil', b'x')])
mk('dotdot.tar', [('file', '../../../../../../etc/cron.d/evil', b'x')])
mk('symlink.tar', [('sym', 'evil', '/etc'), ('file', 'evil/cron.d/evil', b'x')])
mk('hardlink.tar', [('hard', 'shadow', '/etc/shadow')])
EOF
for t in abs dotdot symlink hardlink; do ch04-images import $t.tar evil; echo "exit $?"; done
ls root/layers/tmp | wc -l; ls /etc/cron.d/evil
# ANCHOR_END: hostile
# ANCHOR: names
ch04-images run --name a busybox true
ch04-images rmi busybox; echo "exit $?"
jq -c '{name, status, exit_code}' root/containers/*/config.json | sort
ch04-images rm a
# ANCHOR_END: names
