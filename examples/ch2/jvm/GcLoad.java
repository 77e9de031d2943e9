// 第二章 · 垃圾回收与延迟（JVM）：一个小堆上的分配密集负载，由 examples/ch2/gc_jvm.py 驱动。
//
// 一块固定大小的“缓存”常驻堆中（长期存活的数据），若干工作线程不停地处理“请求”：
// 每个请求分配一批临时对象，并用新条目替换缓存里随机的一条（老条目变成垃圾）。
// 计时段内统计完成的请求数与每个请求的耗时；GC 停顿与分配停顿由驱动脚本从 GC 日志里读。
//
// 用法：java GcLoad.java <计时秒数> <预热秒数> <常驻数据 MiB> <线程数>
// 标准输出只有一行 JSON。

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
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

    static final class Worker extends Thread {
        final long[] hist = new long[64 << SUB_BITS];
        final AtomicReferenceArray<Node> cache;
        final long measureFrom;
        final long deadline;
        final int seed;
        long ops;
        long recorded;
        long maxNanos;
        long sink;

        Worker(AtomicReferenceArray<Node> cache, long measureFrom, long deadline, int seed) {
            this.cache = cache;
            this.measureFrom = measureFrom;
            this.deadline = deadline;
            this.seed = seed;
        }

        @Override
        public void run() {
            SplittableRandom rnd = new SplittableRandom(seed);
            long id = (long) seed << 40;
            while (true) {
                long start = System.nanoTime();
                if (start >= deadline) {
                    break;
                }
                sink += handle(id, cache, rnd);
                id += TEMP_NODES;
                long end = System.nanoTime();
                // 计时段开始之后才结束的请求都记耗时，包括横跨段首、被长时间卡住的那一个；
                // 只在预热段（JIT 编译）里结束的不计
                if (end >= measureFrom) {
                    long took = end - start;
                    hist[bucketOf(took)]++;
                    maxNanos = Math.max(maxNanos, took);
                    recorded++;
                    if (end <= deadline) {
                        ops++; // 吞吐只数在计时段内完成的请求
                    }
                }
            }
        }
    }

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
        if (args.length != 4) {
            System.err.println("usage: java GcLoad.java <seconds> <warmup-seconds> <live-MiB> <threads>");
            System.exit(2);
        }
        double seconds = Double.parseDouble(args[0]);
        double warmup = Double.parseDouble(args[1]);
        int liveMiB = Integer.parseInt(args[2]);
        int threads = Integer.parseInt(args[3]);
        if (seconds <= 0 || warmup < 0 || liveMiB < 1 || threads < 1) {
            System.err.println("invalid arguments");
            System.exit(2);
        }

        // 常驻数据：liveMiB 条左右 × 1 KiB
        AtomicReferenceArray<Node> cache = new AtomicReferenceArray<>(liveMiB * 1024);
        for (int i = 0; i < cache.length(); i++) {
            cache.set(i, entry(i));
        }

        long now = System.nanoTime();
        long measureFrom = now + (long) (warmup * 1e9);
        long deadline = measureFrom + (long) (seconds * 1e9);
        List<Worker> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            workers.add(new Worker(cache, measureFrom, deadline, t + 1));
        }
        for (Worker w : workers) {
            w.start();
        }
        // 计时段的起止，用 JVM 启动以来的毫秒数表示，和 GC 日志的 uptime 对齐
        long uptimeNow = ManagementFactory.getRuntimeMXBean().getUptime();
        double windowStart = (uptimeNow + (measureFrom - now) / 1e6) / 1e3;
        double windowEnd = windowStart + seconds;
        for (Worker w : workers) {
            w.join();
        }

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
        if (recorded == 0) {
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
                "{\"ops\": %d, \"seconds\": %.3f, \"threads\": %d, \"live_mib\": %d, \"cache_entries\": %d,"
                        + " \"req_p50_s\": %.9f, \"req_p99_s\": %.9f, \"req_max_s\": %.9f,"
                        + " \"window_start_s\": %.3f, \"window_end_s\": %.3f, \"max_heap_B\": %d,"
                        + " \"max_gc_pause_millis\": \"%s\", \"collectors\": \"%s\", \"java\": \"%s\", \"sink\": %d}%n",
                ops, seconds, threads, liveMiB, cache.length(),
                quantile(hist, recorded, 0.50), quantile(hist, recorded, 0.99), maxNanos / 1e9,
                windowStart, windowEnd, Runtime.getRuntime().maxMemory(),
                hotspot.getVMOption("MaxGCPauseMillis").getValue(), gcNames,
                System.getProperty("java.vm.version"), sink % 10);
    }
}
