"""gunicorn 配置：多进程模式下，主进程先建好共享目录，worker 退出时把它的文件标记为已死。"""

import os

from prometheus_client import multiprocess

# --8<-- [start:conf]
MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if MULTIPROC_DIR:
    # worker 导入应用之前，目录必须已经存在（且应当是空的）
    os.makedirs(MULTIPROC_DIR, exist_ok=True)


def child_exit(server, worker):
    if MULTIPROC_DIR:
        multiprocess.mark_process_dead(worker.pid)


# --8<-- [end:conf]
