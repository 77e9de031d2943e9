package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestEveryServerAnswersTheSameJSON(t *testing.T) {
	for _, name := range []string{"gin", "nethttp", "static"} {
		h, err := handlerFor(name)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/json", nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", name, rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); ct[:16] != "application/json" {
			t.Fatalf("%s: content type %q", name, ct)
		}
		var got Message
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.Message != "Hello, World!" {
			t.Fatalf("%s: body %q", name, rec.Body.String())
		}
	}
}

func TestUnknownServerIsAnError(t *testing.T) {
	if _, err := handlerFor("flask"); err == nil {
		t.Fatal("want an error")
	}
}
