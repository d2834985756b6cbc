#pragma once
// POST /store and GET /store/{hash}: content-addressed files in DATA_DIR, each named by the
// SHA-256 of its bytes, so storing the same content twice changes nothing. A file appears whole
// or not at all: it is written to a temporary name in the same directory, synced, then renamed.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace october::api {

// 64 lowercase hex digits: the only names GET /store/{hash} opens, so no path can escape.
bool is_sha256_hex(std::string_view text);

// A limit refused the content; `setting` names it (STORE_MAX_BYTES, STORE_MAX_FILES).
struct StoreLimit : std::runtime_error {
  StoreLimit(std::string setting_name, const std::string& detail)
      : std::runtime_error(detail), setting(std::move(setting_name)) {}
  std::string setting;
};

class ContentStore {
 public:
  // Counts the objects already in `directory` and removes temporary files a crash left there.
  ContentStore(std::filesystem::path directory, std::uint64_t max_bytes, std::uint64_t max_files);

  struct Stored {
    std::string hash;
    std::size_t size = 0;
    bool created = false;  // false: the same content was already stored
  };
  // Throws StoreLimit, or std::system_error when the file system refuses.
  Stored put(std::string_view content);
  // nullopt when nothing is stored under `hash` (or it is not a SHA-256 name).
  [[nodiscard]] std::optional<std::string> get(std::string_view hash) const;

  [[nodiscard]] std::size_t count() const;
  [[nodiscard]] const std::filesystem::path& directory() const { return directory_; }

 private:
  void write_atomically(const std::filesystem::path& target, std::string_view content) const;

  std::filesystem::path directory_;
  std::uint64_t max_bytes_;
  std::uint64_t max_files_;
  // Held across the existence check, the write and the count, so the count stays exact and two
  // requests never race for the last free slot.
  mutable std::mutex mutex_;
  std::size_t count_ = 0;
};

}  // namespace october::api
