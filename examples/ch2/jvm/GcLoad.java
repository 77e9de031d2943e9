// 第二章 · 垃圾回收与延迟（JVM）：固定大小的常驻数据上的分配密集负载，由 examples/ch2/gc_jvm.py 驱动。
//
// 一块“缓存”常驻堆中（长期存活的数据），若干工作线程不停地处理“请求”：
// 每个请求分配一批临时对象，并用新条目替换缓存里随机的一条（老条目变成垃圾）。
// 计时段按“换血量”结束：缓存被替换的条目数达到 turnover × 条目总数、至少过了 min-seconds 秒、
// 段内至少完整地做完一轮回收（回收次数比段首多 2：段首可能正赶上一轮并发回收的收尾）。常驻数据越多，计时段越长，每个点上收集器做的是同样比例的工作。
// 计时段内统计完成的请求数与每个请求的耗时；GC 停顿与分配停顿由驱动脚本从 GC 日志里读。
//
// 用法：java GcLoad.java <预热秒数> <换血倍数> <最短计时秒数> <常驻数据 MiB> <线程数>
// 标准输出只有一行 JSON。

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

public class GcLoad {
    // --8<-- [start:request]
    static final class Node {
        final long id;
        final byte[] payload;
        Node next;

        Node(long id, int size) {
            this.id = id;
            this.payload = new byte[size];
        }
    }

    static final int ENTRY_NODES = 4;
    static final int ENTRY_PAYLOAD = 200; // 每条缓存约 1 KiB：4 个节点 × (200 B 数据 + 对象头)
    static final int TEMP_NODES = 32;
    static final int TEMP_PAYLOAD = 64;

    static Node entry(long id) {
        Node head = new Node(id, ENTRY_PAYLOAD);
        Node cur = head;
        for (int i = 1; i < ENTRY_NODES; i++) {
            cur.next = new Node(id + i, ENTRY_PAYLOAD);
            cur = cur.next;
        }
        return head;
    }

    // 一个“请求”：一批用完即弃的临时对象，外加替换一条缓存（被替换的老条目成为老年代里的垃圾）
    static long handle(long id, AtomicReferenceArray<Node> cache, SplittableRandom rnd) {
        List<Node> temps = new ArrayList<>(TEMP_NODES);
        long sum = 0;
        for (int k = 0; k < TEMP_NODES; k++) {
            Node n = new Node(id + k, TEMP_PAYLOAD);
            n.payload[k] = (byte) k;
            temps.add(n);
            sum += n.payload[k];
        }
        cache.set(rnd.nextInt(cache.length()), entry(id));
        return sum + temps.size();
    }
    // --8<-- [end:request]

    // 请求耗时的对数直方图：每个 2 的幂区间再分 16 格，误差约 6%。
    // 不用大数组逐个记录，免得记录本身占掉这个小堆的一大块。
    static final int SUB_BITS = 4;

    static int bucketOf(long nanos) {
        long v = Math.max(nanos, 1);
        int msb = 63 - Long.numberOfLeadingZeros(v);
        if (msb < SUB_BITS) {
            return (int) v;
        }
        int sub = (int) ((v >>> (msb - SUB_BITS)) & ((1 << SUB_BITS) - 1));
        return ((msb - SUB_BITS + 1) << SUB_BITS) + sub;
    }

    static long bucketUpper(int bucket) {
        if (bucket < (1 << SUB_BITS)) {
            return bucket;
        }
        int msb = (bucket >>> SUB_BITS) + SUB_BITS - 1;
        long sub = bucket & ((1 << SUB_BITS) - 1);
        long low = (1L << msb) + (sub << (msb - SUB_BITS));
        return low + (1L << (msb - SUB_BITS)) - 1;
    }

    // 计时段何时结束：替换够了条目、过了最短时长、段内至少完整做完一轮回收，
    // 第一个看到三者都满足的线程记下结束时刻
    static final class Window {
        final long measureFrom;
        final long minEnd;
        final long hardEnd;
        final long target;
        final AtomicLong replaced = new AtomicLong();
        long gcCountAtStart = -1; // 计时段开始后第一个请求读到的回收次数
        long lastGcCheck;
        volatile long end; // 0 = 还没结束

        Window(long measureFrom, long minEnd, long hardEnd, long target) {
            this.measureFrom = measureFrom;
            this.minEnd = minEnd;
            this.hardEnd = hardEnd;
            this.target = target;
        }

        static long gcCount() {
            long n = 0;
            for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
                n += Math.max(gc.getCollectionCount(), 0);
            }
            return n;
        }

        synchronized void markStart() {
            if (gcCountAtStart < 0) {
                gcCountAtStart = gcCount();
            }
        }

        long endIfDone(long now) {
            long e = end;
            if (e != 0) {
                return e;
            }
            if (now < hardEnd && (now < minEnd || replaced.get() < target)) {
                return 0;
            }
            synchronized (this) {
                if (end == 0 && now >= hardEnd) {
                    end = now;
                } else if (end == 0 && now - lastGcCheck > 1_000_000L) {
                    // 读回收次数要走 MXBean，最多每毫秒读一次
                    lastGcCheck = now;
                    // 只多 1 次可能是段首之前就开始的那轮并发回收（ZGC），它的停顿都在段外
                    if (gcCount() >= gcCountAtStart + 2) {
                        end = now;
                    }
                }
                return end;
            }
        }
    }

    static final class Worker extends Thread {
        final long[] hist = new long[64 << SUB_BITS];
        final AtomicReferenceArray<Node> cache;
        final Window window;
        final int seed;
        long ops;
        long recorded;
        long maxNanos;
        long sink;

        Worker(AtomicReferenceArray<Node> cache, Window window, int seed) {
            this.cache = cache;
            this.window = window;
            this.seed = seed;
        }

        @Override
        public void run() {
            SplittableRandom rnd = new SplittableRandom(seed);
            long id = (long) seed << 40;
            while (true) {
                long start = System.nanoTime();
                if (window.endIfDone(start) != 0) {
                    break;
                }
                sink += handle(id, cache, rnd);
                id += TEMP_NODES;
                long end = System.nanoTime();
                // 计时段开始之后才结束的请求都记耗时，包括横跨段首、被长时间卡住的那一个；
                // 只在预热段（JIT 编译）里结束的不计
                if (end >= window.measureFrom) {
                    if (window.gcCountAtStart < 0) {
                        window.markStart();
                    }
                    long took = end - start;
                    hist[bucketOf(took)]++;
                    maxNanos = Math.max(maxNanos, took);
                    recorded++;
                    long stop = window.endIfDone(end);
                    if (stop == 0 || end <= stop) {
                        ops++; // 吞吐只数在计时段内完成的请求
                        window.replaced.incrementAndGet();
                    }
                }
            }
        }
    }

    // 计时段最长 60 秒：换血量迟迟不够时也按时结束（驱动脚本会报告没达到）
    static final long HARD_LIMIT_NANOS = 60_000_000_000L;

    static double quantile(long[] hist, long total, double q) {
        long rank = Math.max((long) Math.ceil(q * total), 1);
        long seen = 0;
        for (int b = 0; b < hist.length; b++) {
            seen += hist[b];
            if (seen >= rank) {
                return bucketUpper(b) / 1e9;
            }
        }
        return Double.NaN;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println(
                    "usage: java GcLoad.java <warmup-seconds> <turnover> <min-seconds> <live-MiB> <threads>");
            System.exit(2);
        }
        double warmup = Double.parseDouble(args[0]);
        double turnover = Double.parseDouble(args[1]);
        double minSeconds = Double.parseDouble(args[2]);
        int liveMiB = Integer.parseInt(args[3]);
        int threads = Integer.parseInt(args[4]);
        if (warmup < 0 || turnover <= 0 || minSeconds < 0 || liveMiB < 1 || threads < 1) {
            System.err.println("invalid arguments");
            System.exit(2);
        }

        // 常驻数据：liveMiB × 1024 条，每条约 1 KiB
        long buildStart = System.nanoTime();
        AtomicReferenceArray<Node> cache = new AtomicReferenceArray<>(liveMiB * 1024);
        for (int i = 0; i < cache.length(); i++) {
            cache.set(i, entry(i));
        }
        double buildSeconds = (System.nanoTime() - buildStart) / 1e9;

        // 同一时刻读两个时钟：nanoTime 管计时，uptime 与 GC 日志的时间戳对齐
        long now = System.nanoTime();
        long uptimeNow = ManagementFactory.getRuntimeMXBean().getUptime();
        long measureFrom = now + (long) (warmup * 1e9);
        long target = (long) Math.ceil(turnover * cache.length());
        Window window = new Window(
                measureFrom, measureFrom + (long) (minSeconds * 1e9), measureFrom + HARD_LIMIT_NANOS, target);
        List<Worker> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            workers.add(new Worker(cache, window, t + 1));
        }
        for (Worker w : workers) {
            w.start();
        }
        for (Worker w : workers) {
            w.join();
        }
        double seconds = (window.end - measureFrom) / 1e9;
        double windowStart = (uptimeNow + (measureFrom - now) / 1e6) / 1e3;
        double windowEnd = windowStart + seconds;

        long[] hist = new long[64 << SUB_BITS];
        long ops = 0;
        long recorded = 0;
        long maxNanos = 0;
        long sink = 0;
        for (Worker w : workers) {
            for (int b = 0; b < hist.length; b++) {
                hist[b] += w.hist[b];
            }
            ops += w.ops;
            recorded += w.recorded;
            maxNanos = Math.max(maxNanos, w.maxNanos);
            sink += w.sink;
        }
        if (recorded == 0 || seconds <= 0) {
            System.err.println("no request recorded in the timed window");
            System.exit(1);
        }
        HotSpotDiagnosticMXBean hotspot = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
        StringBuilder gcNames = new StringBuilder();
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            gcNames.append(gcNames.length() == 0 ? "" : ", ").append(gc.getName());
        }
        System.out.printf(
                java.util.Locale.ROOT,
                "{\"ops\": %d, \"seconds\": %.6f, \"window_gcs\": %d, \"threads\": %d, \"live_mib\": %d, \"cache_entries\": %d,"
                        + " \"turnover_target\": %d, \"turnover_reached\": %b, \"build_s\": %.3f,"
                        + " \"req_p50_s\": %.9f, \"req_p99_s\": %.9f, \"req_max_s\": %.9f,"
                        + " \"window_start_s\": %.3f, \"window_end_s\": %.3f, \"max_heap_B\": %d,"
                        + " \"max_gc_pause_millis\": \"%s\", \"collectors\": \"%s\", \"java\": \"%s\", \"sink\": %d}%n",
                ops, seconds, Window.gcCount() - window.gcCountAtStart, threads, liveMiB, cache.length(), target, window.replaced.get() >= target, buildSeconds,
                quantile(hist, recorded, 0.50), quantile(hist, recorded, 0.99), maxNanos / 1e9,
                windowStart, windowEnd, Runtime.getRuntime().maxMemory(),
                hotspot.getVMOption("MaxGCPauseMillis").getValue(), gcNames,
                System.getProperty("java.vm.version"), sink % 10);
    }
}
