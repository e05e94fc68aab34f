"""The seed's myflask app: a page that counts its visits in redis.

Runs in flask-image (Debian's python3-flask and python3-redis). The redis
server is found by its container name, `myredis`, which mydocker writes into
this container's /etc/hosts because both are on the same network.
"""

import os

import redis
from flask import Flask

app = Flask(__name__)
store = redis.Redis(host=os.environ.get("REDIS_HOST", "myredis"), port=6379)


@app.route("/")
def visits():
    count = store.incr("visits")
    return f"Hello from myflask: visit {count}\n"


if __name__ == "__main__":
    # 0.0.0.0: the published port arrives on eth0, not on loopback.
    app.run(host="0.0.0.0", port=5000)
