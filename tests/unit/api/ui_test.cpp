#include "api/ui.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace october::api {
namespace {

TEST(Ui, ColoursAccepted) {
  for (const char* colour : {"#abc", "#ABCD", "#1e6b52", "#1e6b52ff", "teal", "Navy", "white"}) {
    EXPECT_NO_THROW(validate_ui_color(colour)) << colour;
  }
}

TEST(Ui, ColoursRefusedSayWhatIsAllowed) {
  for (const char* colour : {"", "#", "#12", "#12345", "#1234567", "#ggg", "blurple", "red;",
                             "red}body{display:none", "rgb(1,2,3)", "#abc "}) {
    try {
      validate_ui_color(colour);
      ADD_FAILURE() << "accepted " << colour;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("#rrggbb"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("teal"), std::string::npos) << e.what();
    }
  }
}

TEST(Ui, MessageBounds) {
  EXPECT_NO_THROW(validate_ui_message(""));
  EXPECT_NO_THROW(validate_ui_message(std::string(kMaxUiMessageBytes, 'x')));
  EXPECT_NO_THROW(validate_ui_message("canary \xC3\xA9t\xC3\xA9 \xF0\x9F\x90\xA6 <b>"));
  EXPECT_THROW(validate_ui_message(std::string(kMaxUiMessageBytes + 1, 'x')),
               std::invalid_argument);
  EXPECT_THROW(validate_ui_message("a\nb"), std::invalid_argument);
  EXPECT_THROW(validate_ui_message("a\x7F"), std::invalid_argument);
  EXPECT_THROW(validate_ui_message("\xC3"), std::invalid_argument);          // cut short
  EXPECT_THROW(validate_ui_message("\xC0\xAF"), std::invalid_argument);      // overlong
  EXPECT_THROW(validate_ui_message("\xED\xA0\x80"), std::invalid_argument);  // surrogate
}

TEST(Ui, HtmlEscape) {
  EXPECT_EQ(html_escape(R"(<script>a&b "c" 'd'</script>)"),
            "&lt;script&gt;a&amp;b &quot;c&quot; &#39;d&#39;&lt;/script&gt;");
  EXPECT_EQ(html_escape("plain"), "plain");
}

TEST(Ui, AcceptNegotiation) {
  EXPECT_FALSE(prefers_html(""));
  EXPECT_FALSE(prefers_html("*/*"));
  EXPECT_FALSE(prefers_html("application/json"));
  EXPECT_FALSE(prefers_html("application/json, text/html;q=0.9"));
  EXPECT_FALSE(prefers_html("text/html, application/json"));  // equal: JSON stays
  EXPECT_FALSE(prefers_html("text/html;q=0"));
  EXPECT_FALSE(prefers_html("text/*;q=0.5, */*"));
  EXPECT_FALSE(prefers_html("text/html;q=bogus"));
  EXPECT_TRUE(prefers_html("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"));
  EXPECT_TRUE(prefers_html("text/html"));
  EXPECT_TRUE(prefers_html("TEXT/HTML ; Q=1"));
  EXPECT_TRUE(prefers_html("application/json;q=0.5, text/html"));
  EXPECT_TRUE(prefers_html("text/*, application/json;q=0.2"));
}

TEST(Ui, RenderEscapesEveryValue) {
  PageValues values{.service = "svc",
                    .version = "1.2",
                    .revision = "abc",
                    .hostname = "<host>",
                    .uptime_seconds = 12.7,
                    .color = "#fff",
                    .message = "<script>x</script>"};
  EXPECT_EQ(render_page("{{service}} {{version}}/{{revision}} {{hostname}} {{uptime_seconds}} "
                        "{{color}} {{message}} {{unknown}} {{",
                        values),
            "svc 1.2/abc &lt;host&gt; 13 #fff &lt;script&gt;x&lt;/script&gt; {{unknown}} {{");
}

TEST(Ui, EmbeddedPageHasEveryValueFilledIn) {
  const std::string page = ui_page({.service = "october-api", .message = "hello"});
  EXPECT_EQ(page.find("{{"), std::string::npos);
  EXPECT_NE(page.find("<p id=\"message\">hello</p>"), std::string::npos);
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0U);
}

}  // namespace
}  // namespace october::api
