#pragma once
// SHA-256 and HMAC-SHA256 through OpenSSL, and the comparison a MAC check needs.
#include <string>
#include <string_view>

namespace october::crypto {

// 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);
// The 32 raw bytes of HMAC-SHA256(key, data).
std::string hmac_sha256(std::string_view key, std::string_view data);
// Equal sizes and bytes, in a time that depends on the size only, so a forger learns nothing
// from how long a wrong signature takes to refuse.
bool equal_constant_time(std::string_view a, std::string_view b);

}  // namespace october::crypto
