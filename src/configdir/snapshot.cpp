#include "configdir/snapshot.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>
#include <vector>

namespace october::configdir {

namespace {

// strerror() shares one buffer between threads; the error category's message does not.
std::string errno_text() { return std::generic_category().message(errno); }

// Closes the descriptor on every path out of read_file.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// The file's content, or why it is left out. `room` is what the total limit still allows.
bool read_file(const std::filesystem::path& path, const Limits& limits, std::size_t room,
               std::string& content, std::string& why) {
  // O_NONBLOCK: a FIFO placed in the directory must not hang the reader.
  Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  if (file.fd < 0) {
    why = std::string("cannot open: ") + errno_text();
    return false;
  }
  struct stat info {};
  if (::fstat(file.fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    why = "not a regular file";
    return false;
  }
  const auto size = static_cast<std::size_t>(info.st_size);
  if (size > limits.max_file_bytes) {
    why = "larger than " + std::to_string(limits.max_file_bytes) + " bytes";
    return false;
  }
  if (size > room) {
    why = "past the total limit of " + std::to_string(limits.max_total_bytes) + " bytes";
    return false;
  }
  // One byte more than allowed tells a file that grew since fstat from one that did not.
  content.resize(std::min(limits.max_file_bytes, room) + 1);
  std::size_t got = 0;
  while (got < content.size()) {
    auto n = ::read(file.fd, content.data() + got, content.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      why = std::string("cannot read: ") + errno_text();
      return false;
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got == content.size()) {
    why = "grew past the limit while read";
    return false;
  }
  content.resize(got);
  return true;
}

}  // namespace

bool is_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    if (lead < 0x80)
      length = 1;
    else if (lead >= 0xC2 && lead <= 0xDF)
      length = 2;
    else if (lead >= 0xE0 && lead <= 0xEF)
      length = 3;
    else if (lead >= 0xF0 && lead <= 0xF4)
      length = 4;
    if (length == 0 || i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    if (length > 1) {
      const auto second = static_cast<unsigned char>(text[i + 1]);
      if ((lead == 0xE0 && second < 0xA0) || (lead == 0xED && second > 0x9F) ||
          (lead == 0xF0 && second < 0x90) || (lead == 0xF4 && second > 0x8F)) {
        return false;
      }
    }
    i += length;
  }
  return true;
}

std::string base64(std::string_view bytes) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t group = static_cast<unsigned char>(bytes[i]) << 16U;
    if (i + 1 < bytes.size()) group |= static_cast<unsigned char>(bytes[i + 1]) << 8U;
    if (i + 2 < bytes.size()) group |= static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(group >> 18U) & 63U];
    out += kAlphabet[(group >> 12U) & 63U];
    out += i + 1 < bytes.size() ? kAlphabet[(group >> 6U) & 63U] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[group & 63U] : '=';
  }
  return out;
}

Snapshot read_directory(const std::string& directory, const Limits& limits) {
  Snapshot snapshot;
  std::vector<std::string> names;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(directory, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.rfind("..", 0) == 0) continue;  // the kubelet's ..data and timestamped dirs
    names.push_back(std::move(name));
  }
  if (ec) {
    snapshot.error = "cannot read " + directory + ": " + ec.message();
    return snapshot;
  }
  std::sort(names.begin(), names.end());
  if (names.size() > limits.max_files) {
    snapshot.files_over_limit = names.size() - limits.max_files;
    names.resize(limits.max_files);
  }
  for (const auto& name : names) {
    std::string content;
    std::string why;
    if (!read_file(std::filesystem::path(directory) / name, limits,
                   limits.max_total_bytes - snapshot.bytes, content, why)) {
      snapshot.omitted.emplace(name, why);
      continue;
    }
    snapshot.bytes += content.size();
    if (is_utf8(content)) {
      snapshot.files[name] = content;
    } else {
      snapshot.files[name] = boost::json::object{{"base64", base64(content)}};
    }
  }
  return snapshot;
}

}  // namespace october::configdir
