#include "configdir/snapshot.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <string>

namespace october::configdir {
namespace {

namespace fs = std::filesystem;

struct SnapshotTest : ::testing::Test {
  fs::path dir;
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("october-configdir-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  void write(const fs::path& path, const std::string& content) {
    std::ofstream(path, std::ios::binary) << content;
  }
};

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foob"), "Zm9vYg==");
  EXPECT_EQ(base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(Utf8, WellFormedOnly) {
  EXPECT_TRUE(is_utf8("plain"));
  EXPECT_TRUE(is_utf8("\xC3\xA9t\xC3\xA9 \xF0\x9F\x90\xA6"));
  EXPECT_TRUE(is_utf8(std::string("nul\0inside", 10)));
  EXPECT_FALSE(is_utf8("\xff"));
  EXPECT_FALSE(is_utf8("\xC3"));
  EXPECT_FALSE(is_utf8("\xC0\xAF"));
  EXPECT_FALSE(is_utf8("\xED\xA0\x80"));
  EXPECT_FALSE(is_utf8("\xF4\x90\x80\x80"));
}

TEST_F(SnapshotTest, KubernetesLayoutListsTheKeysOnly) {
  fs::create_directory(dir / "..2026_01_01_00_00_00.1");
  write(dir / "..2026_01_01_00_00_00.1" / "app.conf", "mode=canary\n");
  write(dir / "..2026_01_01_00_00_00.1" / "logo.bin", std::string("\x89PNG\xff", 5));
  fs::create_directory_symlink("..2026_01_01_00_00_00.1", dir / "..data");
  fs::create_symlink("..data/app.conf", dir / "app.conf");
  fs::create_symlink("..data/logo.bin", dir / "logo.bin");
  write(dir / ".env", "a dot file is a key");  // Kubernetes keys may start with one dot

  auto snapshot = read_directory(dir.string());
  EXPECT_EQ(snapshot.error, "");
  EXPECT_EQ(boost::json::serialize(snapshot.files),
            R"({".env":"a dot file is a key","app.conf":"mode=canary\n",)"
            R"("logo.bin":{"base64":"iVBOR/8="}})");
  EXPECT_TRUE(snapshot.omitted.empty());
  EXPECT_EQ(snapshot.bytes, 12U + 5U + 19U);
}

TEST_F(SnapshotTest, LimitsOmitWithTheReason) {
  write(dir / "a", std::string(10, 'a'));
  write(dir / "b", std::string(11, 'b'));  // over the per-file limit
  write(dir / "c", std::string(8, 'c'));
  write(dir / "d", std::string(8, 'd'));  // past the total
  write(dir / "e", "e");
  write(dir / "f", "f");  // past the file count
  fs::create_directory(dir / "d0");
  ::mkfifo((dir / "d1").c_str(), 0600);  // must not block the reader

  auto snapshot =
      read_directory(dir.string(), {.max_files = 7, .max_file_bytes = 10, .max_total_bytes = 20});
  EXPECT_EQ(boost::json::serialize(snapshot.files), R"({"a":"aaaaaaaaaa","c":"cccccccc","e":"e"})");
  EXPECT_EQ(snapshot.omitted.at("b"), "larger than 10 bytes");
  EXPECT_EQ(snapshot.omitted.at("d"), "past the total limit of 20 bytes");
  EXPECT_EQ(snapshot.omitted.at("d0"), "not a regular file");
  EXPECT_EQ(snapshot.omitted.at("d1"), "not a regular file");
  EXPECT_EQ(snapshot.files_over_limit, 1U);  // "f" is the 8th name
  EXPECT_EQ(snapshot.bytes, 19U);
}

TEST_F(SnapshotTest, DanglingKeyAndMissingDirectory) {
  fs::create_symlink("..data/gone", dir / "gone");
  auto snapshot = read_directory(dir.string());
  EXPECT_TRUE(snapshot.files.empty());
  EXPECT_NE(snapshot.omitted.at("gone").find("cannot open"), std::string::npos);

  auto missing = read_directory((dir / "nope").string());
  EXPECT_NE(missing.error.find("cannot read"), std::string::npos);
}

}  // namespace
}  // namespace october::configdir
