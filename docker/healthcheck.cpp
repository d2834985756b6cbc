// october-healthcheck: the container health probe. The runtime images hold no shell and no curl,
// so a Docker/Compose HEALTHCHECK execs this: it sends GET <path> to the service's own listener
// and exits 0 on a 2xx answer, 1 otherwise (refused, timed out, any other status).
//
// Usage: october-healthcheck [--host=H] [--port=N] [--timeout=S] [/path]
// Defaults: the HOST and PORT the service itself reads (0.0.0.0 and :: mean loopback),
// path /healthz, timeout 3 s.
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace {

constexpr const char* kUsage =
    "usage: october-healthcheck [--host=H] [--port=N] [--timeout=S] [/path]\n"
    "GET /path (default /healthz) on HOST:PORT (env, default 127.0.0.1:8000); exit 0 on 2xx\n";

[[noreturn]] void Unhealthy(const std::string& why) {
  std::fprintf(stderr, "october-healthcheck: %s\n", why.c_str());
  std::exit(1);
}

void OnAlarm(int /*signal*/) {
  constexpr char kMessage[] = "october-healthcheck: timed out\n";
  (void)!write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  _exit(1);
}

std::string EnvOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t sent = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent <= 0) return false;
    data.remove_prefix(static_cast<size_t>(sent));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = EnvOr("HOST", "127.0.0.1");
  std::string port = EnvOr("PORT", "8000");
  std::string path = "/healthz";
  unsigned timeout = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with("--host=")) {
      host = arg.substr(7);
    } else if (arg.starts_with("--port=")) {
      port = arg.substr(7);
    } else if (arg.starts_with("--timeout=")) {
      timeout = static_cast<unsigned>(std::strtoul(argv[i] + 10, nullptr, 10));
    } else if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg.starts_with("/")) {
      path = arg;
    } else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::" || host == "[::]") host = "::1";
  if (timeout == 0) timeout = 3;

  struct sigaction action = {};
  action.sa_handler = OnAlarm;
  sigaction(SIGALRM, &action, nullptr);
  alarm(timeout);

  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* addresses = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &addresses); rc != 0) {
    Unhealthy(host + ":" + port + ": " + gai_strerror(rc));
  }
  int fd = -1;
  int connect_errno = 0;
  for (const addrinfo* a = addresses; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      connect_errno = errno;
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(addresses);
  if (fd < 0) Unhealthy("connect " + host + ":" + port + ": " + std::strerror(connect_errno));

  const std::string request = "GET " + path +
                              " HTTP/1.1\r\nHost: localhost\r\nUser-Agent: october-healthcheck\r\n"
                              "Connection: close\r\n\r\n";
  if (!SendAll(fd, request)) Unhealthy("send: " + std::string(std::strerror(errno)));

  // Only the status line matters: "HTTP/1.1 200 OK".
  std::string head;
  char buffer[512];
  while (head.find("\r\n") == std::string::npos && head.size() < 4096) {
    const ssize_t got = recv(fd, buffer, sizeof buffer, 0);
    if (got <= 0) break;
    head.append(buffer, static_cast<size_t>(got));
  }
  close(fd);
  if (head.size() < 12 || !head.starts_with("HTTP/1.")) {
    Unhealthy("GET " + path + ": no HTTP answer");
  }
  const std::string status = head.substr(9, 3);
  if (status[0] != '2') Unhealthy("GET " + path + ": status " + status);
  return 0;
}
