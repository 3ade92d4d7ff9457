// Pagination: an API returns results a page at a time with a token for the
// next page; a generator hides the paging and yields one record after
// another, fetching a page only when the consumer gets to it. Python:
//
//   def all_users(client):
//       token = None
//       while True:
//           page = client.list_users(page_token=token)
//           yield from page.users
//           token = page.next_token
//           if token is None:
//               return
//
// yield_from(page.users) delegates to a plain C++ range (a sub-iterator
// without send), as `yield from list` does.

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "green/generator.hpp"

struct page {
  std::vector<std::string> users;
  std::optional<int> next_token;
};

// A fake paged API: 3 users per page, 4 pages.
struct fake_client {
  int calls = 0;
  page list_users(int token) {
    ++calls;
    std::printf("  [fetching page %d]\n", token);
    page p;
    for (int i = 0; i < 3; ++i) p.users.push_back("user" + std::to_string(token * 3 + i));
    if (token < 3) p.next_token = token + 1;
    return p;
  }
};

// all_users() yields every user of every page; its result is the number of
// pages fetched.
green::generator<std::string, void, int> all_users(fake_client& client) {
  return green::generator<std::string, void, int>([&client](green::yielder<std::string>& y) {
    int pages = 0;
    std::optional<int> token = 0;
    while (token) {
      page p = client.list_users(*token);
      ++pages;
      y.yield_from(p.users);
      token = p.next_token;
    }
    return pages;
  });
}

int main() {
  fake_client client;
  std::printf("first 4 users:\n");
  {
    auto users = all_users(client);
    int n = 0;
    for (const std::string& u : users) {
      std::printf("  %s\n", u.c_str());
      if (++n == 4) break;
    }
  }
  std::printf("pages fetched for 4 users: %d\n", client.calls);

  std::printf("all users:\n");
  client.calls = 0;
  auto users = all_users(client);
  int n = 0;
  for (const std::string& u : users) {
    (void)u;
    ++n;
  }
  std::printf("%d users in %d pages (result() = %d)\n", n, client.calls, users.result());
  return 0;
}
