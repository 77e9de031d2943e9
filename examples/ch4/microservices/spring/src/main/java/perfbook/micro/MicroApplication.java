package perfbook.micro;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;

/** 与 Python、Go 版本同一个接口：GET /json 调用下一个服务，把自己的名字加在调用链前面。 */
@SpringBootApplication
@RestController
public class MicroApplication {

    private final String name;
    private final String next;
    private final RestClient client = RestClient.create();

    public MicroApplication(
            @Value("${micro.name:spring}") String name, @Value("${micro.next:}") String next) {
        this.name = name;
        this.next = next;
    }

    public static void main(String[] args) {
        SpringApplication.run(MicroApplication.class, args);
    }

    // --8<-- [start:handler]
    @GetMapping("/json")
    public Map<String, Object> json() {
        List<Object> chain = new ArrayList<>();
        chain.add(name);
        if (!next.isEmpty()) {
            // 同一个 RestClient 复用到下游的连接（keep-alive）
            Map<String, Object> down = client.get().uri(next + "/json").retrieve()
                    .body(new ParameterizedTypeReference<Map<String, Object>>() {});
            chain.addAll((List<?>) down.get("chain"));
        }
        return Map.of("chain", chain);
    }
    // --8<-- [end:handler]

    // --8<-- [start:heap]
    /** JVM 自己报告的堆：上限（-Xmx 或按内存算出的默认值）、已向系统申请的、正在用的。 */
    @GetMapping("/heap")
    public Map<String, Object> heap() {
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("max", heap.getMax());
        out.put("committed", heap.getCommitted());
        out.put("used", heap.getUsed());
        out.put("cpus", Runtime.getRuntime().availableProcessors());
        return out;
    }
    // --8<-- [end:heap]
}
