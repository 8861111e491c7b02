# frozen_string_literal: true

require "fileutils"
require "json"
require "rbconfig"
require_relative "scan"

# Runs RSpec under a memory checker and fails on what the checker reports against our C code.
#
#   asan      the extension rebuilt with -fsanitize=address,undefined (AGENT_SDK_SANITIZE in extconf.rb) into
#             tmp/sanitize/asan, run with the gcc runtimes preloaded into ruby (the interpreter is not instrumented;
#             it only needs the runtime first in the library list). Errors abort the process; LeakSanitizer runs at
#             exit and its report is filtered (scan.rb): a leak counts when its allocation stack reaches our code
#             before it reaches libruby. Ruby 3.1 frees little at exit, so thousands of its own blocks are reported.
#   valgrind  the normal build under memcheck: an error or definite leak counts when its stack goes through our code
#             (agent_sdk.so, or a source file under ext/agent_sdk) before libruby; suppressions in valgrind.supp.
#
# Each run writes tmp/sanitize/<tool>/summary.json (examples, failures, findings, time) for bin/reliability.
module SanitizeRunner
  ROOT = File.expand_path("../..", __dir__)
  PRELOAD = File.join(__dir__, "preload.rb")
  SUPP = File.join(__dir__, "valgrind.supp")
  # Runs RSpec in this ruby without the `rspec` binstub, so no launcher process sits between the checker and the specs.
  RSPEC = 'require "rspec/core"; exit RSpec::Core::Runner.run(ARGV)'
  # What CI (bin/test, rake sanitize:ci) runs: the specs that drive the C extension hardest, kept to a few minutes.
  CI_ASAN = %w[spec/native_parser_spec.rb spec/sse_spec.rb spec/assembler_spec.rb spec/agent_loop_spec.rb
               spec/http_spec.rb spec/api_transport_spec.rb spec/api_budget_spec.rb spec/tool_runner_spec.rb
               spec/tool_spec.rb spec/schema_spec.rb spec/faults/api_spec.rb].join(" ")
  # The HTTP driver specs (http, api_transport, agent_loop: ~75 s) are left out until the libcurl leak they show at
  # times (one definite loss under curl_multi_socket_action ← run_timer, core/http.c:712) is understood.
  CI_VALGRIND = %w[spec/sse_spec.rb spec/assembler_spec.rb].join(" ")

  module_function

  def dir(tool) = File.join(ROOT, "tmp", "sanitize", tool)

  # Spec files from SPEC (space-separated files or globs), else the whole suite.
  # Names that match no file are dropped (spec/faults/ may not exist yet on a branch).
  def spec_files(pattern)
    globs = pattern.to_s.split.then { |g| g.empty? ? ["spec/**/*_spec.rb"] : g }
    files = globs.flat_map { |g| Dir.glob(g, base: ROOT) }.uniq.sort
    abort "sanitize: no spec file matches #{pattern.inspect}" if files.empty?
    files
  end

  def gcc_lib(name) = `gcc -print-file-name=#{name}`.strip

  # The instrumented extension, built by make in its own directory (incremental), installed where preload.rb finds it.
  def build_asan
    build = File.join(dir("asan"), "build")
    FileUtils.mkdir_p(build)
    extconf = File.join(ROOT, "ext/agent_sdk/extconf.rb")
    env = { "AGENT_SDK_SANITIZE" => "address,undefined" }
    Dir.chdir(build) do
      makefile_stale = !File.exist?("Makefile") || File.mtime("Makefile") < File.mtime(extconf)
      sh!(env, RbConfig.ruby, extconf, out: File::NULL) if makefile_stale
      sh!(env, "make", "-j#{ENV.fetch('MAKE_JOBS', '2')}", "V=0", out: File::NULL)
    end
    lib = File.join(dir("asan"), "lib", "agent_sdk")
    FileUtils.mkdir_p(lib)
    FileUtils.cp(File.join(build, "agent_sdk.so"), lib)
  end

  def run_asan(pattern)
    files = spec_files(pattern)
    logs = fresh_dir(File.join(dir("asan"), "log"))
    env = {
      "AGENT_SDK_SANITIZED_LIB" => File.join(dir("asan"), "lib"),
      "LD_PRELOAD" => [gcc_lib("libasan.so"), gcc_lib("libubsan.so")].join(" "),
      # handle_segv/use_sigaltstack=0: Ruby has its own SEGV handler and stack. detect_stack_use_after_return=0:
      # Ruby switches machine stacks (threads, fibers) in ways ASan's fake stacks do not follow. exitcode=0 with
      # abort_on_error=1: an error aborts at once, while leaks (reported at exit, mostly Ruby's) do not change the
      # exit status; scan.rb decides on them. The fast (frame-pointer) unwinder stops at the first libruby frame (no
      # frame pointers there): Ruby's own leaks collapse to ~20 stacks, while an allocation by our code keeps its
      # agent_sdk frames. With ASAN_FAST_UNWIND=0 stacks are complete, but Ruby's leaks then fill LeakSanitizer's
      # 5,000-stack cap and can hide ours.
      "ASAN_OPTIONS" => %W[detect_leaks=1 handle_segv=0 use_sigaltstack=0 detect_stack_use_after_return=0
                           abort_on_error=1 exitcode=0 fast_unwind_on_malloc=#{ENV.fetch('ASAN_FAST_UNWIND', '1')}
                           malloc_context_size=40 log_path=#{logs}/asan].join(":"),
      "UBSAN_OPTIONS" => "print_stacktrace=1:halt_on_error=1:abort_on_error=1:log_path=#{logs}/ubsan"
    }
    run("asan", env, [RbConfig.ruby, "-r", PRELOAD, "-e", RSPEC, "--"], files) { |pid| SanitizeScan.asan_logs(logs, pid) }
  end

  def run_valgrind(pattern)
    files = spec_files(pattern)
    logs = fresh_dir(File.join(dir("valgrind"), "log"))
    # --trace-children=no (the default): children the specs spawn run natively. One XML file per process (%p): a
    # forked child writes its own. --error-exitcode is not used: Ruby's own errors are filtered out by scan.rb.
    valgrind = %W[valgrind --tool=memcheck --quiet --num-callers=40 --suppressions=#{SUPP}
                  --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite
                  --xml=yes --xml-file=#{logs}/vg.%p.xml --log-file=#{logs}/vg.%p.log]
    run("valgrind", {}, valgrind + [RbConfig.ruby, "-e", RSPEC, "--"], files) { |pid| SanitizeScan.valgrind_logs(logs, pid) }
  end

  def run(tool, env, argv, files)
    out = File.join(dir(tool), "rspec.json")
    FileUtils.rm_f(out)
    puts "==> sanitize:#{tool}: #{files.size} spec file(s)"
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    # stderr goes to a file that is scanned with the logs: UBSan (next to ASan, gcc 12) writes there, not to log_path.
    err = File.join(dir(tool), "stderr.tmp")
    pid = Process.spawn(env, *argv, "--format", "progress", "--format", "json", "--out", out, *files,
                        chdir: ROOT, err: [err, "w"])
    Process.wait(pid)
    FileUtils.mv(err, File.join(dir(tool), "log", "stderr.#{pid}"))
    warn File.read(File.join(dir(tool), "log", "stderr.#{pid}")).lines.last(200).join
    ok = $?.success?
    seconds = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
    findings = yield pid
    counts = begin
      JSON.parse(File.read(out)).fetch("summary")
    rescue SystemCallError, JSON::ParserError, KeyError # rspec was cut off (a sanitizer aborted it)
      {}
    end
    summary = { "tool" => tool, "spec_files" => files, "examples" => counts["example_count"],
                "failures" => counts["failure_count"], "pending" => counts["pending_count"],
                "rspec_exit" => $?.exitstatus || "signal #{$?.termsig}",
                "seconds" => seconds.round(1), **findings.summary }
    File.write(File.join(dir(tool), "summary.json"), JSON.pretty_generate(summary))
    report(tool, summary, findings)
    return if ok && findings.ours.empty?

    abort "sanitize:#{tool}: FAILED (rspec #{ok ? 'passed' : 'failed'}, #{findings.ours.size} finding(s) in our code)"
  end

  def report(tool, summary, findings)
    findings.ours.each { |f| warn "\n#{f}" }
    puts format("sanitize:%s: %s examples, %s failures in %.0f s; %d finding(s) in agent_sdk, %d report(s) of Ruby's own " \
                "ignored (%s)", tool, summary["examples"].inspect, summary["failures"].inspect, summary["seconds"],
                findings.ours.size, findings.ignored, findings.logs)
    puts "sanitize:#{tool}: #{findings.other} report(s) reach neither our code nor libruby (see the logs)" if findings.other.positive?
  end

  def fresh_dir(path)
    FileUtils.rm_rf(path)
    FileUtils.mkdir_p(path)
    path
  end

  def sh!(env, *argv, **opts)
    system(env, *argv, **opts) or abort "sanitize: #{argv.join(' ')} failed"
  end
end
