/* 启动时间对照用的 C hello world：进程从启动到退出只做这一件事。 */
#include <stdio.h>

int main(void) {
    puts("hello, world");
    return 0;
}
