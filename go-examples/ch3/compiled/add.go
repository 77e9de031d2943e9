package main

// 本文件不导入任何包：页面用 go tool compile -S 单独编译它，展示 add 与它的调用点编译成的机器码。

// --8<-- [start:add]
func add(a, b int) int {
	return a + b
}

// sumLoop 是最朴素的 CPU 密集循环：每次迭代调用一次 add。
// 编译器会把 add 内联进循环，调用点上不再有 CALL 指令。
func sumLoop(n int) int {
	total := 0
	for i := 0; i < n; i++ {
		total = add(total, i%7)
	}
	return total
}

// --8<-- [end:add]
