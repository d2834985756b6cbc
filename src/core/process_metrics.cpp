#include "core/process_metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/build_info.hpp"

namespace october::metrics {

namespace {

// Fields of /proc/self/stat after the command name, which may itself hold spaces.
std::vector<std::string> stat_fields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  std::vector<std::string> fields;
  auto close = line.rfind(')');
  if (close == std::string::npos) return fields;
  std::istringstream rest(line.substr(close + 2));
  for (std::string field; rest >> field;) fields.push_back(field);
  return fields;
}

double page_size() { return static_cast<double>(sysconf(_SC_PAGESIZE)); }

double start_time_seconds() {
  // Field 22 of /proc/self/stat is the start time in clock ticks since boot.
  auto fields = stat_fields();
  std::ifstream uptime_in("/proc/uptime");
  double uptime = 0;
  uptime_in >> uptime;
  if (fields.size() < 20) return 0;
  double started_after_boot = std::stod(fields[19]) / static_cast<double>(sysconf(_SC_CLK_TCK));
  auto now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch());
  return now.count() - uptime + started_after_boot;
}

}  // namespace

double resident_memory_bytes() {
  std::ifstream in("/proc/self/statm");
  double size = 0;
  double resident = 0;
  if (!(in >> size >> resident)) return 0;
  return resident * page_size();
}

void register_build_info(Registry& registry) {
  registry
      .gauge("october_build_info", "Version and revision of the running build.",
             {"version", "revision"})
      .labels({std::string(build_info::version()), std::string(build_info::revision())})
      .set(1);
}

void register_process_metrics(Registry& registry) {
  registry.callback("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                    Type::counter, [] {
                      rusage usage{};
                      getrusage(RUSAGE_SELF, &usage);
                      auto seconds = [](const timeval& tv) {
                        return static_cast<double>(tv.tv_sec) +
                               static_cast<double>(tv.tv_usec) / 1e6;
                      };
                      return seconds(usage.ru_utime) + seconds(usage.ru_stime);
                    });
  registry.callback("process_resident_memory_bytes", "Resident memory size in bytes.", Type::gauge,
                    resident_memory_bytes);
  registry.callback("process_virtual_memory_bytes", "Virtual memory size in bytes.", Type::gauge,
                    [] {
                      std::ifstream in("/proc/self/statm");
                      double size = 0;
                      in >> size;
                      return size * page_size();
                    });
  registry.callback("process_open_fds", "Number of open file descriptors.", Type::gauge, [] {
    std::error_code ec;
    double count = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      ++count;
    }
    return count;
  });
  registry.callback("process_max_fds", "Maximum number of open file descriptors.", Type::gauge, [] {
    rlimit limit{};
    getrlimit(RLIMIT_NOFILE, &limit);
    return static_cast<double>(limit.rlim_cur);
  });
  const double started = start_time_seconds();
  registry.callback("process_start_time_seconds",
                    "Start time of the process since unix epoch in seconds.", Type::gauge,
                    [started] { return started; });
}

}  // namespace october::metrics
