# frozen_string_literal: true

require "json"
require "openssl"
require "securerandom"
require "socket"
require "tempfile"
require "timeout"
require_relative "../lib/ruby_llm/agent_sdk/testing"

RSpec.describe RubyLLM::AgentSDK::Native::HTTP do
  let(:turns) { [] }
  let(:server) { RubyLLM::AgentSDK::Testing::FakeServer.new(turns).start }
  let(:url) { "#{server.base_url}/v1/messages" }
  let(:api_key) { "sk-ant-api03-#{SecureRandom.hex(16)}" }
  let(:headers) { { "x-api-key" => api_key, "anthropic-version" => "2023-06-01", "content-type" => "application/json" } }
  let(:http) { described_class.new(idle_timeout: 30, total_timeout: 60) }

  after do
    http.close unless http.closed?
    server.stop
  end

  def request_body(stream: true)
    JSON.generate(model: "claude-sonnet-4-5", max_tokens: 64, stream: stream,
                  messages: [{ role: "user", content: "hello" }])
  end

  def monotonic
    Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end

  def elapsed
    t = monotonic
    yield
    monotonic - t
  end

  # [[event, data], ...] from an SSE body; raises on anything that is not a complete frame.
  def sse_events(text)
    expect(text).to end_with("\n\n")
    text.split("\n\n").map do |frame|
      fields = frame.lines.to_h { |l| l.chomp.split(": ", 2) }
      [fields.fetch("event"), JSON.parse(fields.fetch("data"))]
    end
  end

  # Connections the fake server still has open (it has no public reader for them).
  def open_connections(srv)
    srv.instance_variable_get(:@conns).size
  end

  def wait_until(timeout: 5)
    deadline = monotonic + timeout
    sleep 0.01 until yield || monotonic > deadline
    yield
  end

  describe "streaming" do
    let(:words) { Array.new(12) { |i| "word#{i}✓ " }.join }
    let(:turns) { [{ text: words, chunk_delay: 0.02 }] }

    it "yields the body in order, in several pieces, and they reassemble to the server's SSE" do
      chunks = []
      result = http.post(url, headers, request_body) { |chunk| chunks << chunk }

      expect(result).to include(status: 200, error: nil, error_message: nil)
      expect(result).not_to have_key(:body)
      expect(chunks.size).to be > 5
      expect(chunks).to all(be_a(String))
      events = sse_events(chunks.join)
      expect(events.map(&:first).first(2)).to eq(%w[message_start ping])
      expect(events.map(&:first).last(2)).to eq(%w[message_delta message_stop])
      text = events.select { |name, _| name == "content_block_delta" }.map { |_, d| d.dig("delta", "text") }.join
      expect(text).to eq(words)
      expect(result[:headers]["content-type"]).to start_with("text/event-stream")
    end

    it "returns the whole body without a block" do
      result = http.post(url, headers, request_body)
      expect(result[:status]).to eq(200)
      expect(sse_events(result[:body]).last.first).to eq("message_stop")
    end
  end

  it "returns a non-streaming JSON answer" do
    server.script([{ text: "plain answer", usage: { input_tokens: 5, output_tokens: 2 } }])
    result = http.post(url, headers, request_body(stream: false))
    expect(result).to include(status: 200, error: nil)
    expect(result[:headers]["content-type"]).to eq("application/json")
    msg = JSON.parse(result[:body])
    expect(msg["content"]).to eq([{ "type" => "text", "text" => "plain answer" }])
    expect(msg["usage"]).to include("input_tokens" => 5, "output_tokens" => 2)
  end

  it "exposes status and all response headers (lower-cased) of an error answer" do
    server.script([{ status: 529, headers: { "Retry-After" => "7", "x-should-retry" => "true",
                                             "retry-after-ms" => "6500" } }])
    result = http.post(url, headers, request_body)
    expect(result).to include(status: 529, error: nil)
    expect(result[:headers]).to include("retry-after" => "7", "x-should-retry" => "true", "retry-after-ms" => "6500")
    expect(result[:headers]["request-id"]).to match(/\Areq_01\w+\z/)
    expect(JSON.parse(result[:body])).to include("type" => "error", "request_id" => result[:headers]["request-id"])
    expect(JSON.parse(result[:body]).dig("error", "type")).to eq("overloaded_error")
  end

  it "sends the method, headers and body it was given" do
    http.post(url, headers.merge("anthropic-beta" => "b1"), request_body)
    req = server.requests.last
    expect(req.method).to eq("POST")
    expect(req.headers).to include("anthropic-version" => "2023-06-01", "anthropic-beta" => "b1",
                                   "x-api-key" => "[REDACTED]")
    expect(req.headers).not_to have_key("expect")
    expect(req.raw_body).to eq(request_body)
  end

  describe "transport errors" do
    it "reports a refused connection as :connect" do
      result = http.post("http://127.0.0.1:#{closed_port}/v1/messages", headers, request_body)
      expect(result).to include(status: nil, error: :connect)
      expect(result[:error_message]).to match(/connect/i)
    end

    it "ends a stalled response with :timeout after idle_timeout" do
      server.script([{ text: "never", fault: :stall }])
      client = described_class.new(idle_timeout: 1)
      result = nil
      took = elapsed { result = client.post(url, headers, request_body) { |_| nil } }
      expect(result).to include(status: 200, error: :timeout)
      expect(result[:error_message]).to include("idle")
      expect(took).to be_between(0.9, 5)
    ensure
      client&.close
    end

    it "keeps a slow but steady stream alive past idle_timeout, timing idleness from the last byte received" do
      # Gaps of 0.6 s under a 1 s idle_timeout: bytes that end a wait must be dated when the wait ends (a clock read
      # before the wait dated them up to a wait earlier, and the stream was cut at ~1.2 s).
      server.script([{ text: Array.new(4) { "w " }.join, chunk_delay: 0.6 }])
      client = described_class.new(idle_timeout: 1)
      expect(client.post(url, headers, request_body)).to include(status: 200, error: nil)
    ensure
      client&.close
    end

    it "ends a request that runs past total_timeout with :timeout, after some chunks" do
      server.script([{ text: Array.new(40) { "w " }.join, chunk_delay: 0.1 }])
      client = described_class.new(total_timeout: 1, idle_timeout: 30)
      chunks = []
      result = nil
      took = elapsed { result = client.post(url, headers, request_body) { |c| chunks << c } }
      expect(result).to include(status: 200, error: :timeout)
      expect(chunks).not_to be_empty
      expect(took).to be_between(0.9, 5)
    ensure
      client&.close
    end

    it "reports a reset in the middle of a stream as :recv, after the chunks before it" do
      server.script([{ text: "one two three four five", fault: :reset_mid_stream, fault_after: 4, chunk_delay: 0.05 }])
      chunks = []
      result = http.post(url, headers, request_body) { |c| chunks << c }
      expect(result).to include(status: 200, error: :recv)
      expect(chunks.join).to start_with("event: message_start\n")
    end

    it "reports a reset before the response head as :recv" do
      server.script([{ text: "x", fault: :reset_before_headers }])
      result = http.post(url, headers, request_body)
      expect(result).to include(status: nil, error: :recv)
    end

    it "never puts a request header value in an error message" do
      server.script([{ text: "x", fault: :stall }, { text: "y", fault: :reset_mid_stream },
                     { text: "z", fault: :reset_before_headers }])
      client = described_class.new(idle_timeout: 0.5)
      results = [client.post(url, headers, request_body), client.post(url, headers, request_body),
                 client.post(url, headers, request_body),
                 client.post("http://127.0.0.1:#{closed_port}/", headers, request_body),
                 client.post("http://bad host/", headers, request_body)]
      expect(results.map { |r| r[:error] }).to eq(%i[timeout recv recv connect other])
      results.each { |r| expect(r[:error_message]).not_to include(api_key) }
    ensure
      client&.close
    end

    it "redacts a header value even where libcurl's own message would contain it" do
      # The connect error names the host; a header carrying the same text must not leak through it.
      result = http.post("http://127.0.0.1:#{closed_port}/", { "x-api-key" => "127.0.0.1" }, "")
      expect(result[:error]).to eq(:connect)
      expect(result[:error_message]).to include("[REDACTED]")
      expect(result[:error_message]).not_to include("127.0.0.1")
    end

    it "refuses header values with CR or LF without showing them" do
      expect { http.post(url, { "x-api-key" => "#{api_key}\r\nx-evil: 1" }, "") }
        .to raise_error(ArgumentError) { |e| expect(e.message).not_to include(api_key) }
      expect { http.post(url, { "bad name" => "v" }, "") }.to raise_error(ArgumentError, /header name/)
      expect(server.requests).to be_empty
    end
  end

  describe "connection reuse" do
    let(:turns) { [{ text: "a" }, { text: "b" }, { text: "c" }, { text: "d" }] }

    it "reuses the connection for sequential posts on one instance" do
      2.times { expect(http.post(url, headers, request_body)).to include(status: 200, error: nil) }
      expect(server.requests.map(&:connection_id).uniq.size).to eq(1)
    end

    it "does not share connections between instances" do
      other = described_class.new
      expect(http.post(url, headers, request_body)[:status]).to eq(200)
      expect(other.post(url, headers, request_body)[:status]).to eq(200)
      ids = server.requests.map(&:connection_id)
      expect(ids.uniq.size).to eq(2)
    ensure
      other&.close
    end
  end

  describe "close-on-exec" do
    let(:turns) { [{ text: "a" }] }

    # Sockets this process holds that a fork + exec would hand down (no FD_CLOEXEC): [fd, "socket:[inode]"].
    def inheritable_sockets
      Dir.children("/proc/self/fd").filter_map do |name|
        target = File.readlink("/proc/self/fd/#{name}")
        flags = File.read("/proc/self/fdinfo/#{name}")[/^flags:\s+(\d+)/, 1].to_i(8)
        [name.to_i, target] if target.start_with?("socket:") && (flags & 0o2000000).zero?
      rescue SystemCallError
        nil # closed meanwhile (the directory's own descriptor, a server thread's)
      end
    end

    it "leaves no socket of libcurl's (connections, the multi handle's wakeup pair) to a spawned child",
       if: File.directory?("/proc/self/fd") do
      expect(http.post(url, headers, request_body)[:status]).to eq(200) # the keep-alive connection stays open
      expect(inheritable_sockets).to eq([])
      listing = IO.popen(["ls", "-l", "/proc/self/fd"], &:read)
      expect(listing).not_to include("socket:")
    end
  end

  describe "#post_many" do
    it "runs 50 requests concurrently on one instance" do
      delay = 0.2
      server.script(Array.new(50) { |i| { text: "answer #{i}", delay: delay } })
      list = Array.new(50) { [url, headers, request_body(stream: false)] }
      results = nil
      took = elapsed { results = http.post_many(list) }
      expect(results.size).to eq(50)
      expect(results.map { |r| [r[:status], r[:error]] }.uniq).to eq([[200, nil]])
      texts = results.map { |r| JSON.parse(r[:body])["content"][0]["text"] }
      expect(texts.sort).to eq(Array.new(50) { |i| "answer #{i}" }.sort)
      expect(took).to be < 0.5 * 50 * delay
    end

    it "returns [] for no requests and reports each failure in its own result" do
      expect(http.post_many([])).to eq([])
      server.script([{ text: "ok" }])
      results = http.post_many([[url, headers, request_body], ["http://127.0.0.1:#{closed_port}/", {}, ""]])
      expect(results.map { |r| r[:error] }).to eq([nil, :connect])
    end
  end

  describe "waiting without the GVL" do
    it "lets other Ruby threads run while a response is slow" do
      server.script([{ text: "slow", delay: 2 }])
      counter = 0
      stop = false
      counting = Thread.new { counter += 1 until stop }
      result = http.post(url, headers, request_body)
      stop = true
      counting.join
      expect(result[:status]).to eq(200)
      expect(counter).to be > 100_000
    end

    it "stops promptly on Thread#kill, and the server sees the connection closed" do
      server.script([{ text: "never", fault: :stall }])
      waiter = Thread.new { http.post(url, headers, request_body) { |_| nil } }
      server.wait_for_requests(1)
      sleep 0.2
      expect(open_connections(server)).to eq(1)
      took = elapsed do
        waiter.kill
        expect(waiter.join(5)).to eq(waiter)
      end
      expect(took).to be < 5
      expect(wait_until { open_connections(server).zero? }).to be(true)
      server.script([{ text: "after" }])
      expect(http.post(url, headers, request_body)).to include(status: 200, error: nil) # not left busy
    end

    it "lets Timeout.timeout interrupt a stalled post" do
      server.script([{ text: "never", fault: :stall }, { text: "after" }])
      took = elapsed do
        expect { Timeout.timeout(1) { http.post(url, headers, request_body) } }.to raise_error(Timeout::Error)
      end
      expect(took).to be < 3
      expect(wait_until { open_connections(server) <= 1 }).to be(true)
      expect(http.post(url, headers, request_body)).to include(status: 200, error: nil)
    end

    it "ends the transfer and re-raises when the block raises" do
      server.script([{ text: Array.new(20) { "w " }.join, chunk_delay: 0.05 }])
      seen = 0
      expect do
        http.post(url, headers, request_body) do |_|
          seen += 1
          raise ArgumentError, "stop here"
        end
      end.to raise_error(ArgumentError, "stop here")
      expect(seen).to eq(1)
      expect(wait_until { open_connections(server).zero? }).to be(true)
    end

    it "#cancel from another thread ends the call with :aborted" do
      server.script([{ text: "never", fault: :stall }])
      Thread.new do
        server.wait_for_requests(1)
        sleep 0.1
        http.cancel
      end
      result = nil
      took = elapsed { result = http.post(url, headers, request_body) }
      expect(result).to include(status: 200, error: :aborted, error_message: "cancelled")
      expect(took).to be < 5
      expect(http.cancel).to be(false)
    end

    it "refuses a second call on a busy instance" do
      server.script([{ text: "one two three" }])
      expect do
        http.post(url, headers, request_body) { |_| http.post(url, headers, request_body) }
      end.to raise_error(RuntimeError, /already running/)
    end
  end

  describe "options" do
    it "validates timeouts" do
      expect { described_class.new(idle_timeout: -1) }.to raise_error(ArgumentError, /idle_timeout/)
      expect { described_class.new(connect_timeout: "10") }.to raise_error(TypeError, /connect_timeout/)
      expect { described_class.new(bogus: 1) }.to raise_error(ArgumentError, /bogus/)
      expect(described_class.new(connect_timeout: 0.5, idle_timeout: nil, total_timeout: 2).close).to be_nil
    end

    it "aborts a body over max_body" do
      server.script([{ text: "x" * 5000 }])
      client = described_class.new(max_body: 1000)
      result = client.post(url, headers, request_body(stream: false))
      expect(result).to include(status: 200, error: :other)
      expect(result[:error_message]).to include("max_body")
    ensure
      client&.close
    end

    it "raises IOError after #close" do
      http.close
      expect { http.post(url, headers, "") }.to raise_error(IOError)
    end
  end

  describe "TLS" do
    before(:all) do
      @key = OpenSSL::PKey::EC.generate("prime256v1")
      cert = OpenSSL::X509::Certificate.new
      cert.version = 2
      cert.serial = SecureRandom.random_number(2**64)
      cert.subject = cert.issuer = OpenSSL::X509::Name.parse("/CN=127.0.0.1")
      cert.public_key = @key
      cert.not_before = Time.now - 60
      cert.not_after = Time.now + 3600
      ext = OpenSSL::X509::ExtensionFactory.new(cert, cert)
      cert.add_extension(ext.create_extension("basicConstraints", "CA:FALSE", true))
      cert.add_extension(ext.create_extension("subjectAltName", "IP:127.0.0.1", false))
      cert.add_extension(ext.create_extension("extendedKeyUsage", "serverAuth", false))
      cert.sign(@key, OpenSSL::Digest.new("SHA256"))
      @cert = cert
      @pem = Tempfile.new(%w[agent_sdk_test_ca .pem])
      @pem.write(cert.to_pem)
      @pem.flush
    end

    after(:all) { @pem.close! }

    # A one-answer-per-connection HTTPS server: reads a request, answers 200 "ok".
    def with_https_server
      tcp = TCPServer.new("127.0.0.1", 0)
      ctx = OpenSSL::SSL::SSLContext.new
      ctx.cert = @cert
      ctx.key = @key
      ssl = OpenSSL::SSL::SSLServer.new(tcp, ctx)
      handshakes = Queue.new
      thread = Thread.new do
        loop do
          conn = begin
            ssl.accept
          rescue OpenSSL::SSL::SSLError, SystemCallError => e
            handshakes << e
            next
          end
          handshakes << :ok
          head = +""
          head << conn.readpartial(4096) until head.include?("\r\n\r\n")
          length = head[/^content-length: *(\d+)/i, 1].to_i
          rest = head.split("\r\n\r\n", 2)[1]
          conn.read(length - rest.bytesize) if rest.bytesize < length
          conn.write("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
          conn.close
        end
      rescue IOError
        nil
      end
      yield "https://127.0.0.1:#{tcp.local_address.ip_port}/v1/messages", handshakes
    ensure
      tcp&.close
      thread&.join(2) || thread&.kill
    end

    it "verifies the server certificate: a self-signed one fails with :tls" do
      with_https_server do |https_url, handshakes|
        result = http.post(https_url, headers, request_body)
        expect(result).to include(status: nil, error: :tls)
        expect(result[:error_message]).to match(/certificate/i)
        expect(result[:error_message]).not_to include(api_key)
        expect(handshakes.pop).to be_a(OpenSSL::SSL::SSLError)
      end
    end

    it "succeeds when ca_file holds the server's certificate" do
      client = described_class.new(ca_file: @pem.path)
      with_https_server do |https_url, handshakes|
        result = client.post(https_url, headers, request_body)
        expect(result).to include(status: 200, error: nil, body: "ok")
        expect(handshakes.pop).to eq(:ok)
      end
    ensure
      client&.close
    end
  end
end
