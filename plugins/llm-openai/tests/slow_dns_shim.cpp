// A getaddrinfo() that takes two seconds to fail for one made-up host name. Preloaded
// (LD_PRELOAD) into a child test process, it keeps a libcurl resolver thread busy after the
// transfer that started it has timed out and the plugin has been unloaded.
#include <dlfcn.h>
#include <netdb.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

extern "C" {

// Lookups of the slow name still sleeping; the test reads it through dlsym.
__attribute__((visibility("default"))) std::atomic<int> moss_slow_dns_in_flight{0};

__attribute__((visibility("default"))) int getaddrinfo(const char* node, const char* service,
                                                       const addrinfo* hints, addrinfo** result) {
  if (node != nullptr && std::strcmp(node, "moss-slow-dns.invalid") == 0) {
    ++moss_slow_dns_in_flight;
    std::this_thread::sleep_for(std::chrono::seconds(2));
    --moss_slow_dns_in_flight;
    return EAI_NONAME;
  }
  using Real = int (*)(const char*, const char*, const addrinfo*, addrinfo**);
  static const Real real = reinterpret_cast<Real>(::dlsym(RTLD_NEXT, "getaddrinfo"));
  return real(node, service, hints, result);
}

}  // extern "C"
