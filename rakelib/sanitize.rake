# frozen_string_literal: true

# The RSpec suite under memory checkers (see rakelib/sanitize/runner.rb). SPEC="spec/sse_spec.rb spec/http_*_spec.rb"
# picks spec files (default: all). Each task fails when a spec fails or a checker reports against our C code.
require_relative "sanitize/runner"

namespace :sanitize do
  desc "Build the extension with ASan/UBSan into tmp/sanitize/asan (lib/agent_sdk/agent_sdk.so is left alone)"
  task(:build_asan) { SanitizeRunner.build_asan }

  desc "Run the specs (SPEC=files/globs, default all) against the ASan/UBSan build, leak checks on for our code"
  task(asan: :build_asan) { SanitizeRunner.run_asan(ENV.fetch("SPEC", nil)) }

  desc "Run the specs (SPEC=files/globs, default all) under valgrind memcheck: slow, pick a few files"
  task(valgrind: :compile) { SanitizeRunner.run_valgrind(ENV.fetch("SPEC", nil)) }

  desc "What CI runs: a few spec files under ASan/UBSan, two under valgrind (SanitizeRunner::CI_*)"
  task ci: %i[compile build_asan] do
    SanitizeRunner.run_asan(ENV.fetch("SPEC_ASAN", SanitizeRunner::CI_ASAN))
    SanitizeRunner.run_valgrind(ENV.fetch("SPEC_VALGRIND", SanitizeRunner::CI_VALGRIND))
  end

  desc "The long campaign (bin/reliability --campaign): whole suite under ASan/UBSan and valgrind, fuzz 1M inputs a driver"
  task :campaign do
    # bin/reliability runs every part (the whole suite under each checker, the fuzz drivers 1,000,000 inputs each,
    # the fault and property specs) and writes the figures to docs/RELIABILITY.md.
    sh "bin/reliability", "--campaign"
  end
end
