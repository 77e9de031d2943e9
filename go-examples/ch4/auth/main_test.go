package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func setup(t *testing.T) (*rsa.PrivateKey, []byte, *http.ServeMux) {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "public.pem")
	if err := os.WriteFile(keyFile, pubPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(Config{Algorithm: "RS256", PublicKeyFile: keyFile, Issuer: "iss-test", Audience: "aud-test"})
	cfgFile := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfgFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, key, err := loadConfig(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	return priv, pubPEM, newMux(cfg, key)
}

func claims(exp time.Time) jwt.MapClaims {
	return jwt.MapClaims{"sub": "user-1", "scope": "read", "iss": "iss-test", "aud": "aud-test", "exp": exp.Unix()}
}

func call(mux *http.ServeMux, auth string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "/api/profile", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec
}

func TestValidTokenAndRejections(t *testing.T) {
	priv, pubPEM, mux := setup(t)
	future := time.Now().Add(time.Hour)
	sign := func(m jwt.SigningMethod, key any, c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	valid := sign(jwt.SigningMethodRS256, priv, claims(future))
	rec := call(mux, "Bearer "+valid)
	var body map[string]string
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body["sub"] != "user-1" {
		t.Fatalf("valid token: %d %s", rec.Code, rec.Body)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	none := sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(future))
	cases := map[string]string{
		"missing":       "",
		"malformed":     "Bearer not-a-jwt",
		"bad signature": "Bearer " + sign(jwt.SigningMethodRS256, other, claims(future)),
		"expired":       "Bearer " + sign(jwt.SigningMethodRS256, priv, claims(time.Now().Add(-time.Hour))),
		"alg none":      "Bearer " + none,
		"other alg":     "Bearer " + sign(jwt.SigningMethodRS512, priv, claims(future)),
		"key confusion": "Bearer " + sign(jwt.SigningMethodHS256, pubPEM, claims(future)),
	}
	for name, auth := range cases {
		rec := call(mux, auth)
		var body map[string]string
		if rec.Code != 401 || rec.Header().Get("Content-Type") != "application/json" ||
			json.Unmarshal(rec.Body.Bytes(), &body) != nil || body["error"] == "" {
			t.Errorf("%s: want 401 with a JSON error, got %d %q %s", name, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
	}
}

func TestConfigErrorsNameTheCause(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config.json")
	_ = os.WriteFile(cfgFile, []byte(`{"algorithm":"HS256"}`), 0o600)
	if _, _, err := loadConfig(cfgFile); err == nil {
		t.Fatal("an HMAC algorithm must be refused")
	}
	if _, _, err := loadConfig(filepath.Join(dir, "absent.json")); err == nil {
		t.Fatal("a missing config must be an error")
	}
}
