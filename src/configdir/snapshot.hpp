#pragma once
// The files of a configuration directory as Kubernetes mounts a ConfigMap: each key a symlink
// into `..data`, itself a symlink to a timestamped directory; hidden `..*` entries are the
// kubelet's and are not listed. Read with limits, so a huge or odd mount cannot take the memory.
#include <boost/json/object.hpp>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace october::configdir {

struct Limits {
  // Names read, in name order; the rest are only counted.
  std::size_t max_files = 100;
  // A larger file is omitted, with the reason.
  std::size_t max_file_bytes = std::size_t{256} * 1024;
  // All contents together: a ConfigMap holds at most 1 MiB.
  std::size_t max_total_bytes = std::size_t{1024} * 1024;
};

struct Snapshot {
  // name → content: a JSON string for UTF-8 text, {"base64": "..."} for anything else.
  boost::json::object files;
  std::map<std::string, std::string> omitted;  // name → why it is not in `files`
  std::size_t files_over_limit = 0;            // names past max_files, not read
  std::size_t bytes = 0;                       // of the contents in `files`
  std::string error;                           // the directory itself could not be read
};

// Reads `directory` now. Never throws: what cannot be read is in `omitted` or `error`.
Snapshot read_directory(const std::string& directory, const Limits& limits = {});

// Whether `text` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool is_utf8(std::string_view text);
// Standard base64 (RFC 4648, with padding).
std::string base64(std::string_view bytes);

}  // namespace october::configdir
