# frozen_string_literal: true

# Reads what ASan/UBSan/LeakSanitizer and valgrind wrote and keeps the reports that are about our C code.
#
# Ours: any ASan error or UBSan runtime error (only the extension is instrumented; the interceptors also see libc
# calls of the interpreter, so any such report is worth a look), and a leak or valgrind error whose stack reaches
# an agent_sdk frame before a libruby frame — malloc ← yajl/libcurl ← asdk_* ← rb_vm_* is ours; malloc ← ruby_xmalloc
# ← … ← asdk_* is a Ruby object our code made, owned by the GC, which Ruby 3.1 does not free at exit.
# Leaks count in the process the checker started only: a forked child (a log of another pid) abandons, by design, the
# clients and transfers it inherited (runner_class.c runner_free, http_class.c http_free: they are the parent's), so
# its leak report is expected; its errors still count.
module SanitizeScan
  # ours: report texts; ignored: reports of Ruby's own; other: reports whose stack reaches neither (libc, OpenSSL).
  Findings = Struct.new(:ours, :ignored, :other, :logs) do
    def summary = { "findings" => ours.size, "ignored_reports" => ignored, "other_reports" => other }
  end

  OUR_FRAME = %r{agent_sdk\.so|/ext/agent_sdk/|\A\.\./.*ext/agent_sdk/}
  RUBY_FRAME = /libruby/

  module_function

  # :ours when the first frame that is either ours or the interpreter's is ours.
  def owner(frames)
    frames.each do |f|
      return :ours if f.match?(OUR_FRAME)
      return :ruby if f.match?(RUBY_FRAME)
    end
    :other
  end

  def asan_logs(dir, main_pid)
    ours = []
    ignored = other = 0
    Dir[File.join(dir, "*")].sort.each do |log|
      text = File.read(log, mode: "rb").force_encoding(Encoding::BINARY)
      main = File.extname(log) == ".#{main_pid}"
      # Errors: everything but the leak report is ours.
      text.split(/^=+\n/).each do |report|
        next if report.strip.empty?

        if report.include?("LeakSanitizer: detected memory leaks")
          leaks(report) do |leak, who|
            case main && who
            when :ours then ours << "#{File.basename(log)}: #{leak}"
            when :ruby, false then ignored += 1
            else other += 1
            end
          end
        elsif report.match?(/ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer|UndefinedBehaviorSanitizer/)
          ours << "#{File.basename(log)}:\n#{report}"
        end
      end
    end
    Findings.new(ours, ignored, other, dir)
  end

  # Yields each "Direct/Indirect leak of …" block with its owner. Frame #0 is the allocator interceptor.
  def leaks(report)
    report.split(/\n(?=(?:Direct|Indirect) leak of )/).each do |block|
      next unless block.start_with?("Direct leak", "Indirect leak")

      frames = block.lines.grep(/^\s+#\d+ /).drop(1).map(&:strip)
      yield block.strip, owner(frames)
    end
  end

  # One XML file per process: every <error> (memory errors and definite leaks) with its first stack.
  def valgrind_logs(dir, main_pid)
    ours = []
    ignored = other = 0
    Dir[File.join(dir, "*.xml")].sort.each do |xml|
      text = File.read(xml, mode: "rb").force_encoding(Encoding::BINARY)
      main = File.basename(xml) == "vg.#{main_pid}.xml"
      text.scan(%r{<error>(.*?)</error>}m).each do |(error)|
        stack = error[%r{<stack>(.*?)</stack>}m, 1].to_s
        frames = stack.scan(%r{<frame>(.*?)</frame>}m).map do |(frame)|
          %w[fn obj dir file line].map { |tag| frame[%r{<#{tag}>(.*?)</#{tag}>}m, 1] }.compact.join(" ")
        end
        # Frames inside valgrind's allocator replacements are not the caller.
        frames = frames.drop_while { |f| f.include?("vgpreload_") }
        leak = error.include?("<kind>Leak_")
        case (main || !leak) && owner(frames)
        when :ours
          what = error[%r{<what>(.*?)</what>}m, 1] || error[%r{<text>(.*?)</text>}m, 1] || error[%r{<kind>(.*?)</kind>}m, 1]
          ours << "#{File.basename(xml)}: #{what}\n  #{frames.first(12).join("\n  ")}"
        when :ruby, false then ignored += 1
        else other += 1
        end
      end
    end
    Findings.new(ours, ignored, other, dir)
  end
end
