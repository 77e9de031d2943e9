// connserver 是第二章并发连接实验的 Go 回显服务器：每个连接一个 goroutine。
// goroutine 阻塞在 Read 上时并不占用 OS 线程，由运行时的网络轮询器（epoll）统一唤醒。
//
// 单独运行：go run ./ch2/connserver -port 0
// 监听 127.0.0.1，启动后在标准输出打印实际端口（一行），之后一直服务到被终止。
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
)

// --8<-- [start:handler]
// handle 把收到的字节原样写回；写法和线程版一样直白，阻塞的是 goroutine 而不是线程。
func handle(conn net.Conn) {
	defer conn.Close()
	buf := make([]byte, 64)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return
		}
		if _, err := conn.Write(buf[:n]); err != nil {
			return
		}
	}
}

func serve(ln net.Listener) error {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return err
		}
		go handle(conn)
	}
}

// --8<-- [end:handler]

func main() {
	port := flag.Int("port", 0, "监听端口，0 表示由内核挑选")
	flag.Parse()
	if *port < 0 || *port > 65535 {
		fmt.Fprintf(os.Stderr, "invalid -port %d\n", *port)
		os.Exit(2)
	}
	// Go 1.19 起运行时会自动把 RLIMIT_NOFILE 的软上限提到硬上限
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	if err := serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
