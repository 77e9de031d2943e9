// 第四章 · 压测：同一个 JSON 接口（TechEmpower 的 JSON 测试：每个请求新建一个对象再序列化），
// 用 Gin 与标准库 net/http 各写一遍；-server static 是校准用的最简服务器（回一个常量）。
// 一个包三种服务器：同一个响应类型、同一个二进制，驱动程序只编译一次。
//
// 单独运行：go run ./ch4/loadtest -server gin -port 8080，然后 curl http://127.0.0.1:8080/json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"

	"github.com/gin-gonic/gin"
)

// --8<-- [start:handler]
// Message 是每个请求新建、再序列化的对象。
type Message struct {
	Message string `json:"message"`
}

func netHTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /json", func(w http.ResponseWriter, r *http.Request) {
		body, err := json.Marshal(Message{Message: "Hello, World!"})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	return mux
}

func ginHandler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	// gin.New()：不挂默认的访问日志中间件，和其他三个服务器一样不写访问日志
	r := gin.New()
	r.Use(gin.Recovery())
	r.GET("/json", func(c *gin.Context) {
		c.JSON(http.StatusOK, Message{Message: "Hello, World!"})
	})
	return r
}

// --8<-- [end:handler]

// staticHandler 只回一个常量：校准压测端时用，它比被测的任何服务器都省事。
func staticHandler() http.Handler {
	body := []byte(`{"message":"Hello, World!"}`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
}

func handlerFor(name string) (http.Handler, error) {
	switch name {
	case "gin":
		return ginHandler(), nil
	case "nethttp":
		return netHTTPHandler(), nil
	case "static":
		return staticHandler(), nil
	}
	return nil, fmt.Errorf("unknown -server %q (want gin, nethttp or static)", name)
}

func main() {
	server := flag.String("server", "nethttp", "gin, nethttp or static")
	port := flag.Int("port", 8080, "port on 127.0.0.1")
	flag.Parse()
	handler, err := handlerFor(*server)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "%s listening on %s, GOMAXPROCS=%d\n", *server, ln.Addr(), runtime.GOMAXPROCS(0))
	log.Fatal(http.Serve(ln, handler))
}
