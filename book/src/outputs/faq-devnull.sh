#!/bin/sh
# FAQ (images): the /dev/null ca-certificates warning.
# ANCHOR: healthy
mydocker run -d --name box busybox sleep 3600
mydocker exec box stat -c '%F %t,%T' /dev/null
mydocker exec box sh -c '(echo a warning >&2) 2>/dev/null'
mydocker exec box cat /dev/null
# ANCHOR_END: healthy
# ANCHOR: problem
mydocker exec box sh -c 'rm /dev/null && touch /dev/null'
mydocker exec box sh -c '(echo "WARNING: ca-certificates.crt does not contain exactly one certificate or CRL: skipping" >&2) 2>/dev/null'
mydocker exec box cat /dev/null
# ANCHOR_END: problem
# ANCHOR: diagnose
mydocker exec box stat -c '%F %t,%T %s bytes' /dev/null
mydocker exec box grep ' /dev ' /proc/mounts
# ANCHOR_END: diagnose
# ANCHOR: fix
mydocker exec box sh -c 'rm /dev/null && mknod -m 666 /dev/null c 1 3'
mydocker exec box stat -c '%F %t,%T' /dev/null
mydocker exec box cat /dev/null
# ANCHOR_END: fix
