// hello 是启动时间对照用的 Go hello world：进程从启动到退出只做这一件事。
package main

import "fmt"

func main() {
	fmt.Println("hello, world")
}
