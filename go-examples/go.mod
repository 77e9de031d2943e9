module perfbook/goexamples

go 1.24
