# frozen_string_literal: true

require "open3"
require "rbconfig"
require "socket"

# Faults at the seams of the :api driver (Native::Runner over core/driver.c): streams the assembler rejects, retry
# back-offs, secrets echoed in error bodies, cancel reasons, blocks that raise, absurd numbers, cancel during DNS.
RSpec.describe "Native::Runner faults" do
  RUNNER_FAULT_KEY = "sk-ant-test-secret-0000"

  def cpu = Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID)

  def answer(text) = { text: text, usage: { input_tokens: 900, output_tokens: 12 } }

  def options(base_url, **extra)
    { transport: :api, model: "claude-sonnet-4-5", base_url: base_url, api_key: RUNNER_FAULT_KEY, session_store: :memory,
      max_retries: 0 }.merge(extra)
  end

  # A server that answers every request with the same raw 200 body (chunked), then closes.
  def with_raw_server(content_type, body)
    server = TCPServer.new("127.0.0.1", 0)
    thread = Thread.new do
      loop do
        sock = server.accept
        Thread.new(sock) do |s|
          head = +""
          head << s.readpartial(65_536) until head.include?("\r\n\r\n")
          length = head[/content-length: *(\d+)/i, 1].to_i
          rest = head.split("\r\n\r\n", 2)[1].to_s.bytesize
          s.read(length - rest) if length > rest
          s.write("HTTP/1.1 200 OK\r\ncontent-type: #{content_type}\r\ntransfer-encoding: chunked\r\n\r\n")
          s.write(format("%x\r\n", body.bytesize) + body + "\r\n0\r\n\r\n")
          s.close
        rescue IOError, SystemCallError
          nil
        end
      end
    rescue IOError
      nil
    end
    yield "http://127.0.0.1:#{server.addr[1]}"
  ensure
    server&.close
    thread&.kill&.join
  end

  def query_in_thread(prompt, **opts)
    messages = []
    worker = Thread.new { SDK.query(prompt, **opts) { |m| messages << m } }
    finished = worker.join(10)
    worker.kill.join unless finished
    [finished, messages]
  end

  START = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\"," \
          "\"role\":\"assistant\",\"content\":[],\"model\":\"x\",\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n"
  TEXT_START = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":" \
               "{\"type\":\"text\",\"text\":\"\"}}\n\n"
  REJECTED = {
    "a data line that is not JSON" => [:anthropic, "#{START}event: content_block_delta\ndata: not json\n\n"],
    "invalid UTF-8 in a text delta" => [:anthropic, "#{START}#{TEXT_START}event: content_block_delta\ndata: " \
                                                    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":" \
                                                    "{\"type\":\"text_delta\",\"text\":\"\xFF\xFE\"}}\n\n".b],
    "a malformed OpenAI chunk" => [:openai, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":7}}]}\n\n" \
                                            "data: {\"choices\":\n\n"]
  }.freeze

  REJECTED.each do |what, (provider, body)|
    it "ends a 2xx stream with #{what} with error_during_execution naming the cause (no hang, no spin)" do
      with_raw_server("text/event-stream", body) do |url|
        started = cpu
        finished, messages = query_in_thread("hi", **options(url, provider: provider, max_retries: 1,
                                                                   api_key: provider == :openai ? nil : RUNNER_FAULT_KEY))
        expect(finished).to be_truthy, "the run did not end within 10 s"
        result = messages.last
        expect(result.subtype).to eq("error_during_execution")
        expect(result.content).to include("could not read the response")
        expect(cpu - started).to be < 5
      end
    end
  end

  it "costs no CPU while it waits out a retry-after: 2 back-off" do
    SDK::Testing::FakeServer.open([{ status: 429, headers: { "retry-after" => "2" } }, answer("ok")]) do |server|
      started_cpu = cpu
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      result = SDK.query("hi", **options(server.base_url, max_retries: 1)).to_a.last
      expect(result.subtype).to eq("success")
      expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be >= 1.9
      expect(cpu - started_cpu).to be < 0.5
    end
  end

  it "redacts the API key from an error body that echoes it, in the result and the session store" do
    Dir.mktmpdir do |dir|
      turns = [{ status: 401, error: { message: "invalid x-api-key: #{RUNNER_FAULT_KEY}" } }]
      SDK::Testing::FakeServer.open(turns) do |server|
        messages = SDK.query("hi", **options(server.base_url, session_store: dir)).to_a
        result = messages.last
        expect(result.subtype).to eq("error_during_execution")
        expect(result.content).to include("401").and include("[REDACTED]")
        expect(result.content).not_to include(RUNNER_FAULT_KEY)
        stored = Dir[File.join(dir, "*.jsonl")].map { |f| File.read(f) }.join
        expect(stored).to include("[REDACTED]")
        expect(stored).not_to include(RUNNER_FAULT_KEY)
      end
    end
  end

  it "takes a cancel reason with a NUL without raising in the running thread" do
    SDK::Testing::FakeServer.open([{ text: "slow", delay: 30 }, { text: "slow", delay: 30 }]) do |server|
      runner = nil
      jobs = [["a", options(server.base_url)], ["b", options(server.base_url)]]
      canceller = Thread.new do
        server.wait_for_requests(2, agent: true, timeout: 10)
        expect { runner.cancel(0, "stop\0now") }.not_to raise_error
        runner.cancel(1, "stop")
      end
      results = []
      runs = jobs.map { |prompt, o| SDK::APITransport::Run.new(prompt, SDK::Options.new(**o)) }
      SDK::APITransport.run_all(runs, on_runner: ->(r) { runner = r }) do |i, m|
        results[i] = m if m.result?
      end
      canceller.join
      expect(results.map(&:subtype)).to eq(%w[error_cancelled error_cancelled])
    end
  end

  it "still stores every line, the cancelled result included, when the block raises" do
    Dir.mktmpdir do |dir|
      SDK::Testing::FakeServer.open([answer("never seen")]) do |server|
        expect do
          SDK.query("hi", **options(server.base_url, session_store: dir)) { |_m| raise "consumer failed" }
        end.to raise_error(RuntimeError, "consumer failed")
        lines = File.readlines(Dir[File.join(dir, "*.jsonl")].first).map { |l| JSON.parse(l) }
        expect(lines.map { |l| l["type"] }).to eq(%w[user system result])
        expect(lines.last["subtype"]).to eq("error_cancelled")
      end
    end
  end

  it "stores the rest of a turn whose first message's block raised, and a cancel result when the block breaks out" do
    Dir.mktmpdir do |dir|
      SDK::Testing::FakeServer.open([answer("It has shipped."), answer("two")]) do |server|
        expect do
          SDK.query("hi", **options(server.base_url, session_store: dir)) { |m| raise "consumer failed" if m.assistant? }
        end.to raise_error(RuntimeError, "consumer failed") # the result line came with the assistant's, undelivered
        SDK.query("again", **options(server.base_url, session_store: dir)) { |m| break if m.init? }
        files = Dir[File.join(dir, "*.jsonl")].map { |f| File.readlines(f).map { |l| JSON.parse(l) } }
        shapes = files.map { |lines| lines.map { |l| [l["type"], l["subtype"]].compact.join(":") } }
        expect(shapes).to contain_exactly(%w[user system:init assistant result:success],
                                          %w[user system:init result:error_cancelled])
      end
    end
  end

  it "releases a shared Native::HTTP when an external Enumerator is dropped half-way and collected" do
    SDK::Testing::FakeServer.open([{ text: "slow", delay: 30 }]) do |server|
      opts = SDK::Options.new(**options(server.base_url))
      http = SDK::Native::HTTP.new
      Thread.new do
        runs = [SDK::APITransport::Run.new("hi", opts)]
        enum = Enumerator.new { |y| SDK::APITransport.run_all(runs, http: http) { |_, m| y << m } }
        enum.next
      end.join
      expect(http.busy?).to be(true)
      10.times { GC.start(full_mark: true, immediate_sweep: true) }
      expect(http.busy?).to be(false)
      expect(http.usable?).to be(true)
    end
  end

  it "refuses NaN and infinite timeouts" do
    [Float::NAN, Float::INFINITY, -Float::INFINITY, 1e300].each do |bad|
      expect { SDK::Native::Runner.new(idle_timeout: bad) }.to raise_error(ArgumentError, /idle_timeout/)
      expect { SDK::Native::HTTP.new(idle_timeout: bad) }.to raise_error(ArgumentError, /idle_timeout/)
    end
  end

  it "treats NaN, infinite and absurd retry-after values as no hint or clamps them (no undefined conversion)" do
    turns = [{ status: 429, headers: { "retry-after-ms" => "nan" } }, { status: 429, headers: { "retry-after" => "1e999" } },
             { status: 429, headers: { "retry-after-ms" => "99999999999999999999999" } }, answer("ok")]
    SDK::Testing::FakeServer.open(turns) do |server|
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      result = SDK.query("hi", **options(server.base_url, max_retries: 3)).to_a.last
      expect(result.subtype).to eq("success")
      expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 10 # back-offs of 0.5, 1 and 2 s
    end
  end

  # libcurl resolves host names in a thread, and removing a transfer joins it: with the GVL held, every Ruby thread
  # stopped until getaddrinfo returned.
  it "cancels during a slow DNS resolution without stopping the other Ruby threads" do
    cc = %w[cc gcc clang].find { |c| system("command -v #{c} >/dev/null 2>&1") }
    skip "no C compiler to build the getaddrinfo shim" unless cc
    Dir.mktmpdir do |dir|
      File.write(File.join(dir, "shim.c"), <<~C)
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <netdb.h>
        #include <string.h>
        #include <unistd.h>
        int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
        {
            int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **) =
                (int (*)(const char *, const char *, const struct addrinfo *, struct addrinfo **))dlsym(RTLD_NEXT, "getaddrinfo");
            if (node && !strcmp(node, "slow-dns.test")) { sleep(3); return EAI_NONAME; }
            return real(node, service, hints, res);
        }
      C
      shim = File.join(dir, "shim.so")
      skip "could not build the shim" unless system(cc, "-shared", "-fPIC", "-o", shim, File.join(dir, "shim.c"), "-ldl")
      code = <<~RUBY
        require "ruby_llm/agent_sdk"
        q = RubyLLM::AgentSDK::Query.new("hi", transport: :api, model: "claude-sonnet-4-5", base_url: "http://slow-dns.test:9",
                                               api_key: "k", session_store: :memory, max_retries: 0)
        stamps = []
        ticker = Thread.new { loop { stamps << Process.clock_gettime(Process::CLOCK_MONOTONIC); sleep 0.01 } }
        cancelled_at = nil
        Thread.new { sleep 0.5; cancelled_at = Process.clock_gettime(Process::CLOCK_MONOTONIC); q.cancel }
        result = nil
        q.each { |m| result = m }
        ended = Process.clock_gettime(Process::CLOCK_MONOTONIC) - cancelled_at
        sleep 0.1
        ticker.kill
        gap = stamps.each_cons(2).map { |a, b| b - a }.max
        puts "\#{result.subtype} \#{gap.round(3)} \#{ended.round(3)}"
      RUBY
      lib = File.expand_path("../lib", __dir__)
      out, status = Open3.capture2({ "LD_PRELOAD" => shim }, RbConfig.ruby, "-I", lib, "-e", code)
      expect(status).to be_success
      subtype, gap, ended = out.split
      expect(subtype).to eq("error_cancelled")
      expect(gap.to_f).to be < 1.0 # the whole remaining resolution (~2.5 s) when the GVL was held
      expect(ended.to_f).to be < 1.0 # the run ends at once: the resolver thread is detached (CURLOPT_QUICK_EXIT)
    end
  end
end
