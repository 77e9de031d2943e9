# 启动时间对照用的 Python hello world：进程从启动到退出只做这一件事。
print("hello, world")
