// 文章里的写法（复现）：按引文描述写出的 Go 认证中间件——密钥函数对任何算法都返回同一个写死在源码里的密钥，
// 也没有限定接受哪些算法。除了这个密钥函数，其余（路由、401 的 JSON 错误体）与 ch4/auth 相同，
// 好让安全矩阵里的差别只来自这一处。仅供对照，不要照抄。
//
// 运行：go run ./ch4/auth_article -addr 127.0.0.1:8080
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// --8<-- [start:article]
func authMiddleware(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tokenString := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		token, err := jwt.Parse(tokenString, func(token *jwt.Token) (interface{}, error) {
			// 文章里的写法：不看 token.Method，对任何算法都返回同一个字面量密钥
			return []byte("my-secret-key"), nil
		})
		if err != nil || !token.Valid {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized"})
			return
		}
		next(w, r)
	}
}

// --8<-- [end:article]

func profile(w http.ResponseWriter, r *http.Request) {
	// 中间件已验过签；这里只为取出 sub 与 scope 再解析一次（不验签）
	claims := jwt.MapClaims{}
	raw := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	_, _, _ = jwt.NewParser().ParseUnverified(raw, claims)
	sub, _ := claims.GetSubject()
	scope, _ := claims["scope"].(string)
	writeJSON(w, http.StatusOK, map[string]string{"sub": sub, "scope": scope})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func newMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /api/profile", authMiddleware(profile))
	return mux
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (loopback)")
	flag.Parse()
	srv := &http.Server{Addr: *addr, Handler: newMux(), ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
