# frozen_string_literal: true

require "open3"

# The budgets as a property, in C for speed: spec/support/c/budget_property.c drives core/loop.c through randomized
# runs with retries, broken attempts, and missing and absurd usage, recomputes the billing independently and counts
# overruns of max_turns, max_tokens and max_budget_usd (what "no overrun" means: README "Budgets"). Built with
# ASan/UBSan. BUDGET_PROPERTY_RUNS sets the number of runs (10,000 by default; 10k take ~1 s).
RSpec.describe "budget property (core/loop.c, C driver under ASan/UBSan)", property: true do
  root = File.expand_path("..", __dir__)
  core = File.join(root, "ext/agent_sdk/core")
  source = File.join(__dir__, "support/c/budget_property.c")
  binary = File.join(root, "tmp/c/budget_property")

  it "never overruns turns, tokens or USD over randomized runs" do
    cc = ENV.fetch("CC", "gcc")
    libs = `pkg-config --cflags --libs yajl libcrypto 2>/dev/null`.split
    skip "needs #{cc} and pkg-config yajl libcrypto" if libs.empty? || !system("command -v #{cc} >/dev/null 2>&1")

    FileUtils.mkdir_p(File.dirname(binary))
    sources = [source, *%w[loop.c budget.c turn.c json_quote.c].map { |f| File.join(core, f) }]
    cmd = [cc, "-std=c99", "-D_POSIX_C_SOURCE=200809L", "-g", "-O1", "-Wall", "-Wextra", "-Werror",
           "-fno-omit-frame-pointer", "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
           "-I#{core}", *sources, "-o", binary, *libs]
    out, status = Open3.capture2e(*cmd)
    expect(status).to be_success, "build failed: #{cmd.join(' ')}\n#{out}"

    runs = Integer(ENV.fetch("BUDGET_PROPERTY_RUNS", "10000"))
    seed = Random.new_seed % (2**63)
    env = { "ASAN_OPTIONS" => "detect_leaks=1", "UBSAN_OPTIONS" => "print_stacktrace=1" }
    out, status = Open3.capture2e(env, binary, runs.to_s, seed.to_s)
    line = out[/^budget property: .*$/]
    puts line if line
    expect(status).to be_success, "seed #{seed}:\n#{out}"
    expect(line).to match(/\Abudget property: #{runs} runs, 0 overruns \(turns \d+, tokens \d+, usd \d+ checks\)\z/)
  end
end
