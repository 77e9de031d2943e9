// 认证服务（Go）：一个受 JWT 保护的接口，net/http + golang-jwt/jwt/v5。
//
// 算法、公钥、签发者与受众全部来自 -config 指向的 JSON 配置文件（实验在服务的临时目录里生成），
// 处理函数里没有任何密钥字面量。合法令牌得到 200 和一个小 JSON；任何拒绝都是 401 加 JSON 错误体。
//
// 运行：go run ./ch4/auth -config /path/config.json -addr 127.0.0.1:8080
package main

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Config 是服务启动时读入的配置；密钥材料只以文件路径出现。
type Config struct {
	Algorithm     string `json:"algorithm"`
	PublicKeyFile string `json:"public_key_file"`
	Issuer        string `json:"issuer"`
	Audience      string `json:"audience"`
}

func loadConfig(path string) (Config, *rsa.PublicKey, error) {
	var cfg Config
	raw, err := os.ReadFile(path)
	if err != nil {
		return cfg, nil, fmt.Errorf("reading config: %w", err)
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return cfg, nil, fmt.Errorf("config %s is not valid JSON: %w", path, err)
	}
	if !strings.HasPrefix(cfg.Algorithm, "RS") && !strings.HasPrefix(cfg.Algorithm, "PS") {
		return cfg, nil, fmt.Errorf("config algorithm %q: only RSA algorithms (RS*, PS*) are supported", cfg.Algorithm)
	}
	if jwt.GetSigningMethod(cfg.Algorithm) == nil {
		return cfg, nil, fmt.Errorf("config algorithm %q is unknown", cfg.Algorithm)
	}
	if cfg.Issuer == "" || cfg.Audience == "" {
		return cfg, nil, errors.New("config needs issuer and audience")
	}
	pem, err := os.ReadFile(cfg.PublicKeyFile)
	if err != nil {
		return cfg, nil, fmt.Errorf("reading public key: %w", err)
	}
	key, err := jwt.ParseRSAPublicKeyFromPEM(pem)
	if err != nil {
		return cfg, nil, fmt.Errorf("public key %s: %w", cfg.PublicKeyFile, err)
	}
	return cfg, key, nil
}

// --8<-- [start:verify]
// newVerifier 把“接受哪些算法”钉死在配置里的那一个：
// 令牌头里的 alg 只是攻击者可以随便写的输入，不能由它来决定怎样验签。
func newVerifier(cfg Config, key *rsa.PublicKey) func(string) (jwt.MapClaims, error) {
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{cfg.Algorithm}),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
	)
	keyFunc := func(*jwt.Token) (any, error) { return key, nil }
	return func(raw string) (jwt.MapClaims, error) {
		claims := jwt.MapClaims{}
		if _, err := parser.ParseWithClaims(raw, claims, keyFunc); err != nil {
			return nil, err
		}
		return claims, nil
	}
}

// --8<-- [end:verify]

// --8<-- [start:middleware]
func requireJWT(verify func(string) (jwt.MapClaims, error), next func(http.ResponseWriter, *http.Request, jwt.MapClaims)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		raw, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !found || raw == "" {
			reject(w, "missing_token", "no bearer token")
			return
		}
		claims, err := verify(raw)
		if err != nil {
			// 细节只写日志；响应里不告诉对方是哪一步失败
			reject(w, "invalid_token", "token rejected")
			return
		}
		next(w, r, claims)
	}
}

func reject(w http.ResponseWriter, code, detail string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="`+code+`"`)
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": code, "detail": detail})
}

// --8<-- [end:middleware]

func profile(w http.ResponseWriter, _ *http.Request, claims jwt.MapClaims) {
	sub, _ := claims.GetSubject()
	scope, _ := claims["scope"].(string)
	writeJSON(w, http.StatusOK, map[string]string{"sub": sub, "scope": scope})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func newMux(cfg Config, key *rsa.PublicKey) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /api/profile", requireJWT(newVerifier(cfg, key), profile))
	return mux
}

func main() {
	configPath := flag.String("config", "", "JSON config file (algorithm, public_key_file, issuer, audience)")
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (loopback)")
	flag.Parse()
	if *configPath == "" {
		log.Fatal("auth: -config is required")
	}
	cfg, key, err := loadConfig(*configPath)
	if err != nil {
		log.Fatalf("auth: %v", err)
	}
	srv := &http.Server{Addr: *addr, Handler: newMux(cfg, key), ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
