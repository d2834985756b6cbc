#include "configdir/watcher.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace october::configdir {
namespace {

namespace fs = std::filesystem;

// Waits (generously: a loaded 2-core machine) until `done()`.
template <typename F>
bool eventually(F done) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < give_up) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

std::string listing(const Watcher& watcher) {
  return boost::json::serialize(watcher.snapshot()->files);
}

TEST(Watcher, FollowsTheKubeletSwapAndPlainEdits) {
  const fs::path dir =
      fs::temp_directory_path() / ("october-watcher-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "..v1");
  std::ofstream(dir / "..v1" / "key") << "one";
  fs::create_directory_symlink("..v1", dir / "..data");
  fs::create_symlink("..data/key", dir / "key");

  Watcher watcher(dir.string());
  EXPECT_EQ(listing(watcher), R"({"key":"one"})");
  EXPECT_EQ(watcher.reloads(), 0U);

  // The kubelet's update: a new version directory, ..data swapped to it by rename(2).
  fs::create_directories(dir / "..v2");
  std::ofstream(dir / "..v2" / "key") << "two";
  fs::create_directory_symlink("..v2", dir / "..data_tmp");
  fs::rename(dir / "..data_tmp", dir / "..data");
  fs::remove_all(dir / "..v1");
  EXPECT_TRUE(eventually([&] { return listing(watcher) == R"({"key":"two"})"; }))
      << listing(watcher);
  EXPECT_GE(watcher.reloads(), 1U);

  // An edit inside the directory ..data now points at: the moved watch sees it.
  const auto before = watcher.reloads();
  std::ofstream(dir / "..v2" / "key") << "three";
  EXPECT_TRUE(eventually([&] { return listing(watcher) == R"({"key":"three"})"; }))
      << listing(watcher);
  EXPECT_GT(watcher.reloads(), before);

  fs::remove(dir / "key");
  EXPECT_TRUE(eventually([&] { return listing(watcher) == "{}"; })) << listing(watcher);
  fs::remove_all(dir);
}

TEST(Watcher, PollingFallbackReloadsOnlyWhatChanged) {
  const fs::path dir = fs::temp_directory_path() / ("october-poller-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "key") << "one";

  Watcher watcher(dir.string(), {}, Watcher::Events::polling);
  EXPECT_EQ(listing(watcher), R"({"key":"one"})");
  const double first_read = watcher.last_read_unix_seconds();
  // Reads that find nothing new are not reloads.
  EXPECT_TRUE(eventually([&] { return watcher.last_read_unix_seconds() > first_read; }));
  EXPECT_EQ(watcher.reloads(), 0U);

  std::ofstream(dir / "key") << "two";
  EXPECT_TRUE(eventually([&] { return listing(watcher) == R"({"key":"two"})"; }))
      << listing(watcher);
  EXPECT_GE(watcher.reloads(), 1U);  // 2 if a read caught the file truncated
  fs::remove_all(dir);
}

}  // namespace
}  // namespace october::configdir
