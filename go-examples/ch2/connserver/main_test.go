package main

import (
	"net"
	"testing"
)

// 回显服务器要把每条消息原样写回，并且在客户端关闭后结束 goroutine。
func TestServeEchoes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go serve(ln)

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 5)
	for range 3 {
		if _, err := conn.Write([]byte("ping\n")); err != nil {
			t.Fatal(err)
		}
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if string(buf[:n]) != "ping\n" {
			t.Fatalf("echo = %q, want %q", buf[:n], "ping\n")
		}
	}
}

func TestHandleReturnsWhenPeerCloses(t *testing.T) {
	server, client := net.Pipe()
	done := make(chan struct{})
	go func() {
		handle(server)
		close(done)
	}()
	client.Close()
	<-done
}
