#include "api/content_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <system_error>
#include <utility>

#include "crypto/digest.hpp"

namespace october::api {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kTemporaryPrefix = ".tmp-";

[[noreturn]] void fail(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// Closes the descriptor on every path out.
class Descriptor {
 public:
  explicit Descriptor(int fd) : fd_(fd) {}
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  [[nodiscard]] int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

}  // namespace

bool is_sha256_hex(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

ContentStore::ContentStore(fs::path directory, std::uint64_t max_bytes, std::uint64_t max_files)
    : directory_(std::move(directory)), max_bytes_(max_bytes), max_files_(max_files) {
  for (const auto& entry : fs::directory_iterator(directory_)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(kTemporaryPrefix)) {
      std::error_code ignored;
      fs::remove(entry.path(), ignored);
    } else if (is_sha256_hex(name) && entry.is_regular_file()) {
      ++count_;
    }
  }
}

std::size_t ContentStore::count() const {
  std::lock_guard lock(mutex_);
  return count_;
}

ContentStore::Stored ContentStore::put(std::string_view content) {
  if (content.size() > max_bytes_) {
    throw StoreLimit("STORE_MAX_BYTES", "the body is " + std::to_string(content.size()) +
                                            " bytes; STORE_MAX_BYTES allows 0 to " +
                                            std::to_string(max_bytes_));
  }
  Stored stored{.hash = crypto::sha256_hex(content), .size = content.size(), .created = false};
  const fs::path target = directory_ / stored.hash;
  std::lock_guard lock(mutex_);
  if (fs::exists(target)) return stored;
  if (count_ >= max_files_) {
    throw StoreLimit("STORE_MAX_FILES", "the store is full: it holds " + std::to_string(count_) +
                                            " objects and STORE_MAX_FILES allows 1 to " +
                                            std::to_string(max_files_));
  }
  write_atomically(target, content);
  ++count_;
  stored.created = true;
  return stored;
}

void ContentStore::write_atomically(const fs::path& target, std::string_view content) const {
  std::string temporary =
      (directory_ / (std::string(kTemporaryPrefix) + target.filename().string() + "-XXXXXX"))
          .string();
  Descriptor file(::mkstemp(temporary.data()));
  if (file.get() < 0) fail("cannot create a file in DATA_DIR " + directory_.string());
  auto discard = [&temporary] { ::unlink(temporary.c_str()); };
  std::size_t written = 0;
  while (written < content.size()) {
    ssize_t n = ::write(file.get(), content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      discard();
      errno = error;
      fail("cannot write to DATA_DIR " + directory_.string());
    }
    written += static_cast<std::size_t>(n);
  }
  // The data reaches the disk before the name does, so a crash never leaves a short object.
  if (::fsync(file.get()) != 0 || ::close(file.release()) != 0) {
    int error = errno;
    discard();
    errno = error;
    fail("cannot sync a file in DATA_DIR " + directory_.string());
  }
  if (::rename(temporary.c_str(), target.c_str()) != 0) {
    int error = errno;
    discard();
    errno = error;
    fail("cannot rename into DATA_DIR " + directory_.string());
  }
  // The rename itself is durable once the directory is synced.
  Descriptor dir(::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) (void)::fsync(dir.get());
}

std::optional<std::string> ContentStore::get(std::string_view hash) const {
  if (!is_sha256_hex(hash)) return std::nullopt;
  std::ifstream in(directory_ / std::string(hash), std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace october::api
