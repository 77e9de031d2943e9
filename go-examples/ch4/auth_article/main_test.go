package main

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func status(t *testing.T, m jwt.SigningMethod, key any, exp time.Time) int {
	t.Helper()
	s, err := jwt.NewWithClaims(m, jwt.MapClaims{"sub": "u", "exp": exp.Unix()}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/api/profile", nil)
	req.Header.Set("Authorization", "Bearer "+s)
	rec := httptest.NewRecorder()
	newMux().ServeHTTP(rec, req)
	return rec.Code
}

// 复现的就是文章的行为：同一个字面量密钥下，任何 HMAC 算法都被接受
func TestArticlePatternAcceptsAnyHMACWithItsLiteral(t *testing.T) {
	future := time.Now().Add(time.Hour)
	for _, m := range []jwt.SigningMethod{jwt.SigningMethodHS256, jwt.SigningMethodHS512} {
		if got := status(t, m, []byte("my-secret-key"), future); got != 200 {
			t.Errorf("%s: got %d", m.Alg(), got)
		}
	}
	if got := status(t, jwt.SigningMethodHS256, []byte("other"), future); got != 401 {
		t.Errorf("bad signature: got %d", got)
	}
	if got := status(t, jwt.SigningMethodHS256, []byte("my-secret-key"), time.Now().Add(-time.Hour)); got != 401 {
		t.Errorf("expired: got %d", got)
	}
}
