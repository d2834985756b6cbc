#pragma once
// Base64 (RFC 4648 section 4, padded: kombu's message bodies) and base64url (section 5, without
// padding: JSON Web Tokens). The decoders accept only the canonical form of their alphabet, so
// two different texts never decode to the same bytes.
#include <optional>
#include <string>
#include <string_view>

namespace october::crypto {

std::string base64_encode(std::string_view data);
// nullopt when `text` is not padded base64.
std::optional<std::string> base64_decode(std::string_view text);

std::string base64url_encode(std::string_view data);
// nullopt when `text` is not unpadded base64url with zero trailing bits.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace october::crypto
