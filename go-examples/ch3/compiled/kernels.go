package main

import (
	"math"
	"strconv"
	"strings"
)

// --8<-- [start:nbody]
// body 是 n 体模拟里的一个天体：位置、速度（单位：天文单位、天文单位/年）与质量。
type body struct {
	x, y, z, vx, vy, vz, mass float64
}

const (
	solarMass   = 4 * math.Pi * math.Pi
	daysPerYear = 365.24
)

func planets() []body {
	return []body{
		{0, 0, 0, 0, 0, 0, solarMass},
		{4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
			1.66007664274403694e-03 * daysPerYear, 7.69901118419740425e-03 * daysPerYear,
			-6.90460016972063023e-05 * daysPerYear, 9.54791938424326609e-04 * solarMass},
		{8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
			-2.76742510726862411e-03 * daysPerYear, 4.99852801234917238e-03 * daysPerYear,
			2.30417297573763929e-05 * daysPerYear, 2.85885980666130812e-04 * solarMass},
		{1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
			2.96460137564761618e-03 * daysPerYear, 2.37847173959480950e-03 * daysPerYear,
			-2.96589568540237556e-05 * daysPerYear, 4.36624404335156298e-05 * solarMass},
		{1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
			2.68067772490389322e-03 * daysPerYear, 1.62824170038242295e-03 * daysPerYear,
			-9.51592254519715870e-05 * daysPerYear, 5.15138902046611451e-05 * solarMass},
	}
}

// nbody 模拟 steps 步（每步 0.01 年），返回结束时系统的总能量。
// 三种语言按同样的顺序做同样的浮点运算（ARM64 上 Go 会把乘加合成 FMA，末几位可能不同）。
func nbody(steps int) float64 {
	bs := planets()
	var px, py, pz float64
	for _, b := range bs {
		px += b.vx * b.mass
		py += b.vy * b.mass
		pz += b.vz * b.mass
	}
	bs[0].vx = -px / solarMass
	bs[0].vy = -py / solarMass
	bs[0].vz = -pz / solarMass
	const dt = 0.01
	for s := 0; s < steps; s++ {
		for i := range bs {
			bi := &bs[i]
			for j := i + 1; j < len(bs); j++ {
				bj := &bs[j]
				dx, dy, dz := bi.x-bj.x, bi.y-bj.y, bi.z-bj.z
				d2 := dx*dx + dy*dy + dz*dz
				mag := dt / (d2 * math.Sqrt(d2))
				bi.vx -= dx * bj.mass * mag
				bi.vy -= dy * bj.mass * mag
				bi.vz -= dz * bj.mass * mag
				bj.vx += dx * bi.mass * mag
				bj.vy += dy * bi.mass * mag
				bj.vz += dz * bi.mass * mag
			}
		}
		for i := range bs {
			b := &bs[i]
			b.x += dt * b.vx
			b.y += dt * b.vy
			b.z += dt * b.vz
		}
	}
	e := 0.0
	for i, bi := range bs {
		e += 0.5 * bi.mass * (bi.vx*bi.vx + bi.vy*bi.vy + bi.vz*bi.vz)
		for _, bj := range bs[i+1:] {
			dx, dy, dz := bi.x-bj.x, bi.y-bj.y, bi.z-bj.z
			e -= bi.mass * bj.mass / math.Sqrt(dx*dx+dy*dy+dz*dz)
		}
	}
	return e
}

// --8<-- [end:nbody]

// makeText 生成 n 个以空格分隔的词，词表有 vocab 个词（"w0"、"w1"……），
// 用与 Python、C 版相同的 64 位线性同余序列挑词，三种语言得到同一段文本。
func makeText(n, vocab int) string {
	var sb strings.Builder
	x := uint64(42)
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteByte('w')
		sb.WriteString(strconv.FormatUint((x>>33)%uint64(vocab), 10))
	}
	return sb.String()
}

// --8<-- [start:words]
// wordCount 统计每个词出现的次数，返回不同词的个数与最高的次数。
func wordCount(text string) (distinct, top int) {
	counts := make(map[string]int)
	for _, w := range strings.Fields(text) {
		counts[w]++
	}
	for _, c := range counts {
		top = max(top, c)
	}
	return len(counts), top
}

// --8<-- [end:words]
