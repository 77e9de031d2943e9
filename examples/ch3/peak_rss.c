/* 量一个命令整个进程一生中的峰值常驻内存：fork、exec，再用 wait4 读子进程的 ru_maxrss。
 *
 * 为什么不在 Python 里直接 wait4：Linux 在 exec 时把 fork 出的那份地址空间的常驻内存记进 ru_maxrss，
 * 由一个十几 MiB 的 Python 进程 fork 出来的子进程，读数至少是这十几 MiB。本程序只占约 1 MiB，
 * fork 时复制的匿名页只有几十 KiB，读数基本就是被测程序自己的峰值。
 * 用法：peak_rss CMD [ARG...]；被测程序的标准输出丢弃，标准输出只打印一个 JSON 对象。
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: peak_rss CMD [ARG...]\n");
        return 2;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, STDOUT_FILENO);
        execvp(argv[1], argv + 1);
        perror(argv[1]);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("wait4");
        return 1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "%s did not exit cleanly (status %d)\n", argv[1], status);
        return 1;
    }
    printf("{\"peak_rss_B\": %ld}\n", ru.ru_maxrss * 1024L); /* Linux 上 ru_maxrss 以 KiB 计 */
    return 0;
}
