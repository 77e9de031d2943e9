// 横向扩展一节的 Go 对照：一个进程，一把互斥锁保护的进程内缓存，数据库是与 Python 版同一个文件目录。
//
// 用法：scaling -addr 127.0.0.1:8080 -db /临时目录
// 接口与 Python 版相同：GET/PUT /item/{key}，GET /api/ping；响应头 X-Worker-Pid 是进程号。
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
)

var validKey = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

// --8<-- [start:cache]
// cache 是整个进程共用的一份：所有 goroutine 读写同一个 map，由互斥锁保护。
type cache struct {
	mu   sync.RWMutex
	data map[string]string
}

func (c *cache) get(key string) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.data[key]
	return v, ok
}

func (c *cache) set(key, value string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.data[key] = value
}

func (c *cache) delete(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.data, key)
}

// --8<-- [end:cache]

type server struct {
	db    string
	cache *cache
	pid   string
}

func (s *server) readDB(key string) (string, bool, error) {
	b, err := os.ReadFile(filepath.Join(s.db, key))
	if os.IsNotExist(err) {
		return "", false, nil
	}
	return string(b), err == nil, err
}

func (s *server) writeDB(key, value string) error {
	// 先写临时文件再改名：读的一方总是读到完整的值
	tmp := filepath.Join(s.db, fmt.Sprintf(".%s.%s.tmp", key, s.pid))
	if err := os.WriteFile(tmp, []byte(value), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(s.db, key))
}

func (s *server) reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Worker-Pid", s.pid)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// --8<-- [start:handlers]
func (s *server) readItem(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if !validKey.MatchString(key) {
		s.reply(w, http.StatusBadRequest, map[string]string{"error": "bad key"})
		return
	}
	value, ok := s.cache.get(key)
	if !ok {
		var err error
		value, ok, err = s.readDB(key) // 未命中：读数据库，再放进缓存
		if err != nil {
			s.reply(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		if !ok {
			s.reply(w, http.StatusNotFound, map[string]string{"error": "no such item"})
			return
		}
		s.cache.set(key, value)
	}
	s.reply(w, http.StatusOK, map[string]string{"key": key, "value": value})
}

func (s *server) writeItem(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if !validKey.MatchString(key) || err != nil {
		s.reply(w, http.StatusBadRequest, map[string]string{"error": "bad request"})
		return
	}
	if err := s.writeDB(key, string(body)); err != nil {
		s.reply(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	s.cache.delete(key) // 同一进程里只有这一份缓存：失效之后，所有请求都读到新值
	s.reply(w, http.StatusOK, map[string]string{"key": key, "value": string(body)})
}

// --8<-- [end:handlers]

func newMux(s *server) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /item/{key}", s.readItem)
	mux.HandleFunc("PUT /item/{key}", s.writeItem)
	mux.HandleFunc("GET /api/ping", func(w http.ResponseWriter, r *http.Request) {
		s.reply(w, http.StatusOK, map[string]bool{"ok": true})
	})
	return mux
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "监听地址（只用本机回环）")
	db := flag.String("db", ".", "文件数据库的目录")
	flag.Parse()
	s := &server{db: *db, cache: &cache{data: map[string]string{}}, pid: strconv.Itoa(os.Getpid())}
	log.Fatal(http.ListenAndServe(*addr, newMux(s)))
}
