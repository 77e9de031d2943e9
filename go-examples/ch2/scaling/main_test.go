package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func call(t *testing.T, h http.Handler, method, path, body string) (int, map[string]string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	out := map[string]string{}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: body %q is not JSON", method, path, rec.Body.String())
	}
	if rec.Header().Get("X-Worker-Pid") == "" {
		t.Fatalf("%s %s: no X-Worker-Pid header", method, path)
	}
	return rec.Code, out
}

func TestWriteThenReadSeesTheNewValueInOneProcess(t *testing.T) {
	dir := t.TempDir()
	h := newMux(&server{db: dir, cache: &cache{data: map[string]string{}}, pid: "1"})
	if code, _ := call(t, h, "GET", "/item/price", ""); code != http.StatusNotFound {
		t.Fatalf("missing key answered %d, want 404", code)
	}
	for _, v := range []string{"1", "2", "3"} {
		if code, _ := call(t, h, "PUT", "/item/price", v); code != http.StatusOK {
			t.Fatalf("PUT answered %d", code)
		}
		if _, got := call(t, h, "GET", "/item/price", ""); got["value"] != v {
			t.Fatalf("read %q after writing %q", got["value"], v)
		}
	}
}

func TestTheCacheServesItsCopyUntilThisProcessInvalidatesIt(t *testing.T) {
	dir := t.TempDir()
	h := newMux(&server{db: dir, cache: &cache{data: map[string]string{}}, pid: "1"})
	call(t, h, "PUT", "/item/price", "1")
	call(t, h, "GET", "/item/price", "") // 放进缓存
	// 另一个实例改了数据库：本进程的缓存看不见
	if err := os.WriteFile(filepath.Join(dir, "price"), []byte("2"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, got := call(t, h, "GET", "/item/price", ""); got["value"] != "1" {
		t.Fatalf("cached read gave %q, want the cached 1", got["value"])
	}
}

func TestBadKeysAreRejected(t *testing.T) {
	h := newMux(&server{db: t.TempDir(), cache: &cache{data: map[string]string{}}, pid: "1"})
	for _, path := range []string{"/item/..%2Fetc", "/item/UPPER", "/item/a.b"} {
		if code, _ := call(t, h, "GET", path, ""); code != http.StatusBadRequest {
			t.Fatalf("GET %s answered %d, want 400", path, code)
		}
	}
}
