#include "api/content_store.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace october::api {
namespace {

namespace fs = std::filesystem;

constexpr const char* kAbcHash = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

struct StoreFixture : ::testing::Test {
  fs::path dir;
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "october-store-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir = pattern;
  }
  void TearDown() override { fs::remove_all(dir); }
  [[nodiscard]] std::size_t entries() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), {}));
  }
};

TEST(ContentStore, Sha256Names) {
  EXPECT_TRUE(is_sha256_hex(kAbcHash));
  EXPECT_FALSE(is_sha256_hex(std::string(kAbcHash).substr(1)));
  EXPECT_FALSE(is_sha256_hex(std::string(kAbcHash) + "0"));
  std::string upper(kAbcHash);
  upper[0] = 'B';
  EXPECT_FALSE(is_sha256_hex(upper));
  EXPECT_FALSE(is_sha256_hex("../" + std::string(kAbcHash).substr(3)));
  EXPECT_FALSE(is_sha256_hex(""));
}

TEST_F(StoreFixture, StoresUnderTheSha256AndReadsBack) {
  ContentStore store(dir, 1024, 10);
  auto stored = store.put("abc");
  EXPECT_EQ(stored.hash, kAbcHash);
  EXPECT_EQ(stored.size, 3U);
  EXPECT_TRUE(stored.created);
  EXPECT_EQ(store.get(kAbcHash), "abc");
  EXPECT_TRUE(fs::is_regular_file(dir / kAbcHash));
  EXPECT_EQ(entries(), 1U);  // no temporary file left behind
  EXPECT_EQ(store.count(), 1U);
  std::string binary("\0\xff\n", 3);
  EXPECT_EQ(store.get(store.put(binary).hash), binary);
}

TEST_F(StoreFixture, SameContentTwiceIsOneObject) {
  ContentStore store(dir, 1024, 1);
  EXPECT_TRUE(store.put("abc").created);
  auto again = store.put("abc");
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.hash, kAbcHash);
  EXPECT_EQ(store.count(), 1U);
}

TEST_F(StoreFixture, LimitsNameTheirSetting) {
  ContentStore store(dir, 4, 2);
  EXPECT_NO_THROW(store.put("1234"));
  try {
    store.put("12345");
    FAIL() << "over STORE_MAX_BYTES";
  } catch (const StoreLimit& limit) {
    EXPECT_EQ(limit.setting, "STORE_MAX_BYTES");
    EXPECT_NE(std::string(limit.what()).find("allows 0 to 4"), std::string::npos) << limit.what();
  }
  EXPECT_NO_THROW(store.put("b"));
  try {
    store.put("c");
    FAIL() << "over STORE_MAX_FILES";
  } catch (const StoreLimit& limit) {
    EXPECT_EQ(limit.setting, "STORE_MAX_FILES");
  }
  EXPECT_FALSE(store.put("b").created);  // what is stored is still answered when full
  EXPECT_EQ(entries(), 2U);
}

TEST_F(StoreFixture, StartCountsObjectsAndDropsTemporaries) {
  { std::ofstream(dir / kAbcHash) << "abc"; }
  { std::ofstream(dir / ".tmp-crashed-123456") << "partial"; }
  { std::ofstream(dir / "README") << "not an object"; }
  ContentStore store(dir, 1024, 2);
  EXPECT_EQ(store.count(), 1U);
  EXPECT_FALSE(fs::exists(dir / ".tmp-crashed-123456"));
  EXPECT_TRUE(fs::exists(dir / "README"));
  EXPECT_EQ(store.get(kAbcHash), "abc");
}

TEST_F(StoreFixture, AbsentOrBadNamesAreNotFound) {
  ContentStore store(dir, 1024, 2);
  EXPECT_FALSE(store.get(kAbcHash));
  { std::ofstream(dir / "README") << "x"; }
  EXPECT_FALSE(store.get("README"));
  EXPECT_FALSE(store.get("../etc/passwd"));
}

TEST_F(StoreFixture, AVanishedDirectoryThrowsSystemError) {
  fs::create_directory(dir / "sub");
  ContentStore store(dir / "sub", 1024, 2);
  fs::remove(dir / "sub");
  EXPECT_THROW(store.put("abc"), std::system_error);
  EXPECT_EQ(store.count(), 0U);
}

}  // namespace
}  // namespace october::api
