# frozen_string_literal: true

require "json"
require "socket"
require_relative "fake_server/http_connection"
require_relative "fake_server/turn"
require_relative "fake_server/embeddings"

module RubyLLM
  module AgentSDK
    module Testing
      # A scripted, offline stand-in for the Anthropic Messages API (and OpenAI-compatible chat completions) for
      # the demo and the test suite. Plain stdlib; one thread per connection; HTTP/1.1 keep-alive; SSE over
      # chunked encoding. Turn keys: FakeServer::Turn::KEYS; faults: FakeServer::Turn::FAULTS.
      #
      #   FakeServer.open([{ tool_use: { name: "Glob", input: { pattern: "*.txt" } } }, { text: "found" }]) do |srv|
      #     run_agent(base_url: srv.base_url)   # ANTHROPIC_BASE_URL for the CLI
      #     srv.agent_requests.size # => 2
      #   end
      #
      # POST /v1/embeddings answers OpenAI's embeddings shape with deterministic vectors (FakeServer::Embeddings,
      # `embedding_dimensions:` wide unless the request asks for `dimensions`); it takes no scripted turn.
      class FakeServer
        DEFAULT_TURN = { text: "(fake server: no scripted turn left)" }.freeze
        # Side requests (see CLI_MAIN_LOOP) get "OK", or the smallest JSON that fits a requested output schema
        # (the CLI's session-title query asks for {"title": string}).
        SIDE_TURN = lambda do |req|
          schema = req.body.dig("output_config", "format", "schema")
          { text: schema.is_a?(Hash) ? JSON.generate(Turn.sample(schema)) : "OK" }
        end
        MAX_BODY = 32 * 1024 * 1024
        REDACTED = "[REDACTED]"
        SECRET_HEADER = /\A(?:authorization|proxy-authorization|cookie|x-api-key|api-key)\z|token|secret/i.freeze
        ROUTES = { "/v1/messages" => :messages, "/v1/messages/count_tokens" => :count_tokens,
                   "/v1/chat/completions" => :chat, "/chat/completions" => :chat,
                   "/v1/embeddings" => :embeddings, "/embeddings" => :embeddings }.freeze

        # One recorded request. `body` is the parsed JSON object (nil when absent or invalid), `raw_body` the bytes,
        # `connection_id` numbers the TCP connections (keep-alive checks), `received_at` is CLOCK_MONOTONIC seconds.
        Request = Struct.new(:method, :path, :query, :headers, :body, :raw_body, :agent_turn, :connection_id,
                             :received_at, keyword_init: true) do
          alias_method :agent_turn?, :agent_turn
        end

        # Raised by #wait_for_requests.
        class WaitTimeout < StandardError; end

        # Raised inside a connection thread when the server stops during a delay or stall.
        class Stopping < StandardError; end
        private_constant :Stopping

        # Which requests consume scripted turns. Anything not sent by the Claude Code CLI (the gem's own loop, tests)
        # is an agent turn. From the CLI (user agent "claude-cli/…"), the main loop and subagents send tools, or
        # (with --tools "") context_management / thinking enabled / a "<system-reminder>" context block first; its
        # one-shot side queries (session title, …) send `tools: []`, thinking disabled and one bare user message.
        CLI_MAIN_LOOP = lambda do |req|
          next true unless req.headers["user-agent"].to_s.start_with?("claude-cli/")

          body = req.body
          tools, thinking, messages = body.values_at("tools", "thinking", "messages")
          first = messages.is_a?(Array) && messages.first.is_a?(Hash) ? messages.first["content"] : nil
          first = first.first["text"] if first.is_a?(Array) && first.first.is_a?(Hash)
          (tools.is_a?(Array) && !tools.empty?) || body.key?("context_management") ||
            (thinking.is_a?(Hash) && %w[enabled adaptive].include?(thinking["type"])) ||
            first.to_s.start_with?("<system-reminder>")
        end

        def self.open(turns = [], **options)
          server = new(turns, **options).start
          return server unless block_given?

          begin
            yield server
          ensure
            server.stop
          end
        end

        attr_reader :port

        def initialize(turns = [], default: DEFAULT_TURN, side: SIDE_TURN, agent_request: CLI_MAIN_LOOP,
                       host: "127.0.0.1", port: 0, max_body: MAX_BODY, idle_timeout: 60, log: nil,
                       embedding_dimensions: Embeddings::DEFAULT_DIMENSIONS)
          unless embedding_dimensions.is_a?(Integer) && embedding_dimensions.positive?
            raise ArgumentError, "embedding_dimensions must be a positive Integer"
          end

          @embedding_dimensions = embedding_dimensions
          @default = Turn.check!(default)
          @side = Turn.check!(side)
          @agent_request = agent_request
          @host = host
          @port = port
          @max_body = max_body
          @idle_timeout = idle_timeout
          @log = log
          @lock = Mutex.new
          @changed = ConditionVariable.new
          @requests = []
          @conns = {}
          @connection_count = 0
          script(turns)
        end

        def start
          @lock.synchronize do
            return self if @listener

            @listener = TCPServer.new(@host, @port)
            @port = @listener.local_address.ip_port
            @stop_r, @stop_w = IO.pipe
            @accept_thread = Thread.new { accept_loop }
          end
          self
        end

        def base_url
          raise "FakeServer not started" unless @listener

          "http://#{@host.include?(':') ? "[#{@host}]" : @host}:#{@port}"
        end

        def running?
          !@listener.nil?
        end

        # Closes the listener and every live connection; threads that do not finish promptly are killed.
        def stop
          listener, accept_thread = @lock.synchronize { [@listener, @accept_thread] }
          return self unless listener

          @stop_w.write("x")
          accept_thread.join(1) || accept_thread.kill
          conns = @lock.synchronize { @conns.dup }
          conns.each_value(&:close)
          conns.each_key { |t| t == Thread.current || t.join(0.5) || t.kill.join(0.5) }
          @lock.synchronize do
            [listener, @stop_r, @stop_w].each { |io| io.close unless io.closed? }
            @listener = nil
          end
          self
        end

        # Replaces the remaining script.
        def script(turns)
          checked = Array(turns).map { |t| Turn.check!(t) }
          @lock.synchronize { @turns = checked }
          self
        end

        def enqueue(*turns)
          checked = turns.map { |t| Turn.check!(t) }
          @lock.synchronize { @turns.concat(checked) }
          self
        end

        def pending_turns
          @lock.synchronize { @turns.size }
        end

        def requests
          @lock.synchronize { @requests.dup }
        end

        def agent_requests
          requests.select(&:agent_turn)
        end

        def clear_requests
          @lock.synchronize { @requests.clear }
          self
        end

        # Blocks until at least `count` requests were received (only agent-loop ones with agent: true, only those
        # the block accepts when given); returns them. Raises WaitTimeout listing what did arrive.
        def wait_for_requests(count, timeout: 5, agent: false, &filter)
          deadline = monotonic + timeout
          @lock.synchronize do
            loop do
              got = @requests.select { |r| (!agent || r.agent_turn) && (!filter || filter.call(r)) }
              return got if got.size >= count

              left = deadline - monotonic
              if left <= 0
                seen = @requests.map { |r| "#{r.method} #{r.path}#{' (agent)' if r.agent_turn}" }
                raise WaitTimeout, "waited #{timeout}s for #{count} #{'agent ' if agent}requests, got #{got.size}: " \
                                   "#{seen.join(', ')}"
              end
              @changed.wait(@lock, left)
            end
          end
        end

        private

        def monotonic
          Process.clock_gettime(Process::CLOCK_MONOTONIC)
        end

        def accept_loop
          loop do
            ready, = IO.select([@listener, @stop_r])
            break if ready.include?(@stop_r)

            socket = @listener.accept_nonblock(exception: false)
            next if socket == :wait_readable

            @lock.synchronize do
              conn = HTTPConnection.new(socket, max_body: @max_body, id: @connection_count += 1)
              @conns[Thread.new { serve(conn) }] = conn
            end
          rescue SystemCallError
            sleep 0.01 # a client that reset before accept, or out of descriptors: keep serving
          rescue IOError
            break
          end
        end

        def serve(conn)
          loop do
            ready, = IO.select([conn.socket, @stop_r], nil, nil, @idle_timeout)
            break if ready.nil? || ready.include?(@stop_r)

            incoming = conn.read_request or break
            break unless handle(conn, incoming) && conn.keep_alive?(incoming)
          end
        rescue HTTPConnection::Refused => e
          send_error(conn, :messages, e.status, e.message, headers: { "connection" => "close" })
          conn.drain_and_close
        rescue Stopping, IOError, SystemCallError
          nil
        ensure
          conn.close
          @lock.synchronize { @conns.delete(Thread.current) }
        end

        # Answers one request; returns false when the connection must not be reused.
        def handle(conn, incoming)
          path, query = incoming.target.split("?", 2)
          req = Request.new(method: incoming.method, path: path, query: query, raw_body: incoming.body,
                            headers: incoming.headers.to_h { |k, v| [k, k.match?(SECRET_HEADER) ? REDACTED : v] },
                            agent_turn: false, connection_id: conn.id, received_at: monotonic)
          route = ROUTES[path]
          return misc(conn, req, route) unless route && req.method == "POST"

          req.body = parse_object(req.raw_body)
          if req.body.nil?
            record(req)
            return send_error(conn, route, 400, "fake server: request body must be a JSON object")
          end
          return count_tokens(conn, req) if route == :count_tokens
          return embeddings(conn, req) if route == :embeddings

          turn = take_turn(req)
          answer(conn, route, req, turn) && turn.headers["connection"] != "close"
        rescue Stopping, IOError, SystemCallError
          raise
        rescue StandardError => e
          warn "FakeServer: #{e.class}: #{e.message}\n  #{e.backtrace&.first(3)&.join("\n  ")}"
          send_error(conn, route, 500, "fake server: #{e.class}: #{e.message}", headers: { "connection" => "close" })
          false
        end

        def misc(conn, req, route)
          record(req)
          if req.path == "/" && %w[GET HEAD].include?(req.method)
            conn.respond(200, { "content-type" => "text/plain" }, "fake model server\n",
                         head_only: req.method == "HEAD")
            return true
          end
          status = route ? 405 : 404
          send_error(conn, route, status, "fake server: no route for #{req.method} #{req.path}",
                     head_only: req.method == "HEAD")
        end

        def count_tokens(conn, req)
          record(req)
          conn.respond(200, json_headers, JSON.generate(input_tokens: [req.raw_body.bytesize / 4, 1].max))
          true
        end

        def embeddings(conn, req)
          record(req)
          status, body = Embeddings.response(req.body, @embedding_dimensions)
          conn.respond(status, json_headers, JSON.generate(body))
          true
        end

        # Classifies, records and picks the turn atomically, so the n-th agent request gets the n-th turn.
        def take_turn(req)
          agent = @agent_request.call(req) ? true : false
          turn = @lock.synchronize do
            req.agent_turn = agent
            record_locked(req)
            agent ? (@turns.shift || @default) : @side
          end
          turn.is_a?(Turn) ? turn : Turn.new(turn.call(req))
        end

        def record(req)
          @lock.synchronize { record_locked(req) }
        end

        def record_locked(req)
          @requests << req
          @changed.broadcast
          @log&.puts("fake-model-server: #{req.method} #{req.path}#{" model=#{req.body['model']}" if req.body} " \
                     "agent_turn=#{req.agent_turn}")
        end

        def answer(conn, route, req, turn)
          pause(turn.delay)
          return conn.reset! && false if turn.fault == :reset_before_headers
          return send_raw(conn, turn) if turn.raw
          if turn.error?
            return send_error(conn, route, turn.status, turn.error[:message], type: turn.error[:type],
                                                                              headers: turn.headers)
          end

          msg = turn.message(req)
          if req.body["stream"] == true
            stream(conn, route, turn, msg)
          else
            single(conn, route, turn, msg)
          end
        end

        def single(conn, route, turn, msg)
          body = JSON.generate(route == :chat ? turn.completion(msg) : msg)
          headers = json_headers(turn.headers)
          case turn.fault
          when :error_event
            send_error(conn, route, 529, turn.error[:message], type: turn.error[:type], headers: turn.headers)
          when :stall
            conn.write_head(200, headers.merge("content-length" => body.bytesize.to_s))
            stall(conn)
          when :reset_mid_stream
            conn.write_head(200, headers.merge("content-length" => body.bytesize.to_s))
            conn.socket.write(body.byteslice(0, body.bytesize / 2))
            conn.reset!
            false
          else
            conn.respond(200, headers, body)
            true
          end
        end

        def stream(conn, route, turn, msg)
          events = route == :chat ? [*turn.chunks(msg), "[DONE]"].map { |c| [nil, c] } : turn.events(msg)
          conn.start_chunked(200, { "content-type" => "text/event-stream; charset=utf-8", "cache-control" => "no-cache",
                                    "request-id" => request_id }.merge(turn.headers))
          return stall(conn) if turn.fault == :stall
          if turn.burst
            conn.write_all_chunked(events.map { |name, data| sse(name, data) })
            return true
          end

          cut = %i[reset_mid_stream error_event].include?(turn.fault) ? turn.fault_after(events.size) : events.size
          events.first(cut).each_with_index do |(name, data), i|
            pause(turn.chunk_delay) if i.positive?
            conn.write_chunk(sse(name, data))
          end
          if turn.fault == :reset_mid_stream
            conn.reset!
            return false
          end
          if turn.fault == :error_event
            error = turn.error
            conn.write_chunk(route == :chat ? sse(nil, { error: error }) : sse("error", type: "error", error: error))
          end
          conn.finish_chunked
          true
        end

        def send_raw(conn, turn)
          conn.start_chunked(turn.status, { "content-type" => "text/event-stream", "request-id" => request_id }
                                            .merge(turn.headers))
          turn.raw.each_with_index do |piece, i|
            pause(turn.chunk_delay) if i.positive?
            conn.write_chunk(piece)
          end
          return conn.reset! && false if turn.fault == :reset_mid_stream

          conn.finish_chunked
          true
        end

        def sse(name, data)
          payload = data.is_a?(String) ? data : JSON.generate(data)
          name ? "event: #{name}\ndata: #{payload}\n\n" : "data: #{payload}\n\n"
        end

        # Anthropic-style error body on /v1/messages, OpenAI-style on chat completions. Returns true (keep-alive).
        def send_error(conn, route, status, message, type: Turn.error_type(status), headers: {}, head_only: false)
          id = request_id
          body = if %i[chat embeddings].include?(route)
                   { error: { message: message, type: type, param: nil, code: nil } }
                 else
                   { type: "error", error: { type: type, message: message }, request_id: id }
                 end
          conn.respond(status, { "content-type" => "application/json", "request-id" => id }.merge(headers),
                       JSON.generate(body), head_only: head_only)
          headers["connection"] != "close"
        end

        def json_headers(extra = {})
          { "content-type" => "application/json", "request-id" => request_id }.merge(extra)
        end

        def request_id
          "req_01#{SecureRandom.alphanumeric(22)}"
        end

        def parse_object(raw)
          parsed = JSON.parse(raw)
          parsed.is_a?(Hash) ? parsed : nil
        rescue JSON::ParserError, EncodingError
          nil
        end

        # Sleeps, but wakes up (and aborts the response) as soon as the server stops.
        def pause(seconds)
          return unless seconds.positive?
          raise Stopping if IO.select([@stop_r], nil, nil, seconds)
        end

        # Holds the response open until the server stops or the client goes away.
        def stall(conn)
          loop do
            ready, = IO.select([@stop_r, conn.socket])
            raise Stopping if ready.include?(@stop_r)
            return false if conn.socket.read_nonblock(4096, exception: false).nil?
          end
        end
      end
    end
  end
end
