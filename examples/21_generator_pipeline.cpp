// A lazy pipeline of generators: read lines -> parse records -> keep the
// errors, with a "tap" stage in the middle that counts the records going
// past without storing them. Python (David Beazley's generator pipelines):
//
//   lines   = read_lines(log)
//   records = parse(lines)
//   records = tap(records, counter)
//   errors  = (r for r in records if r.level == "ERROR")
//   for e in itertools.islice(errors, 2): print(e)
//
// Nothing is materialised: each stage pulls one item from the previous one
// when it is asked for one. Taking the first two errors reads only as many
// lines as it takes to find them.

#include <cstdio>
#include <sstream>
#include <string>

#include "green/generator.hpp"

struct record {
  int line = 0;
  std::string level;
  std::string message;
};

const char* const kLog =
    "INFO  service started\n"
    "INFO  listening on :8080\n"
    "WARN  slow request /api/users (812 ms)\n"
    "ERROR database connection refused\n"
    "INFO  retrying\n"
    "garbage line without a level\n"
    "ERROR database connection refused again\n"
    "INFO  giving up\n"
    "ERROR shutting down\n";

int lines_read = 0;

// read_lines() yields the lines of `text`, one per next().
green::generator<std::string> read_lines(std::string text) {
  return green::generator<std::string>([text = std::move(text)](green::yielder<std::string>& y) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      ++lines_read;
      y.yield(line);
    }
  });
}

// parse() turns lines into records, skipping lines without a level.
green::generator<record> parse(green::generator<std::string>& lines) {
  return green::generator<record>([&lines](green::yielder<record>& y) {
    int n = 0;
    for (const std::string& line : lines) {
      ++n;
      const auto space = line.find(' ');
      if (space == std::string::npos) continue;
      std::string level = line.substr(0, space);
      if (level != "INFO" && level != "WARN" && level != "ERROR") continue;
      const auto text = line.find_first_not_of(' ', space);
      y.yield(record{n, std::move(level), line.substr(text)});
    }
  });
}

// tap() passes records through unchanged and counts them.
green::generator<record> tap(green::generator<record>& records, int& count) {
  return green::generator<record>([&records, &count](green::yielder<record>& y) {
    for (record& r : records) {
      ++count;
      y.yield(std::move(r));
    }
  });
}

// errors() keeps the ERROR records.
green::generator<record> errors(green::generator<record>& records) {
  return green::generator<record>([&records](green::yielder<record>& y) {
    for (record& r : records)
      if (r.level == "ERROR") y.yield(std::move(r));
  });
}

int main() {
  int tapped = 0;
  auto lines = read_lines(kLog);
  auto records = parse(lines);
  auto counted = tap(records, tapped);
  auto errs = errors(counted);
  std::printf("pipeline built; lines read so far: %d\n", lines_read);

  std::printf("first two errors:\n");
  int taken = 0;
  for (const record& e : errs) {
    std::printf("  line %d: %s\n", e.line, e.message.c_str());
    if (++taken == 2) break;
  }
  std::printf("after two errors: %d lines read, %d records counted by the tap\n", lines_read,
              tapped);

  for (const record& e : errs) std::printf("  line %d: %s\n", e.line, e.message.c_str());
  std::printf("at the end: %d lines read, %d records counted by the tap\n", lines_read, tapped);
  return 0;
}
