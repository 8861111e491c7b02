# frozen_string_literal: true

require "socket"

module RubyLLM
  module AgentSDK
    module Testing
      class FakeServer
        # Server side of one HTTP/1.1 connection: strict request parsing with hard limits, fixed-length and chunked
        # responses, keep-alive, `Expect: 100-continue`, and abrupt resets for fault injection. No Rack, no WEBrick.
        class HTTPConnection
          MAX_LINE = 16 * 1024
          MAX_HEADER_BYTES = 64 * 1024
          MAX_HEADERS = 100
          REASONS = {
            100 => "Continue", 200 => "OK", 400 => "Bad Request", 401 => "Unauthorized", 403 => "Forbidden",
            404 => "Not Found", 405 => "Method Not Allowed", 408 => "Request Timeout", 409 => "Conflict",
            413 => "Payload Too Large", 429 => "Too Many Requests", 431 => "Request Header Fields Too Large",
            500 => "Internal Server Error", 501 => "Not Implemented", 502 => "Bad Gateway",
            503 => "Service Unavailable", 504 => "Gateway Timeout", 505 => "HTTP Version Not Supported",
            529 => "Overloaded"
          }.freeze

          # A request the server refuses before routing it (malformed, too big); the connection is closed after.
          class Refused < StandardError
            attr_reader :status

            def initialize(status, message)
              @status = status
              super(message)
            end
          end

          Incoming = Struct.new(:method, :target, :version, :headers, :body, keyword_init: true)

          attr_reader :socket, :id

          def initialize(socket, max_body:, id: nil)
            @socket = socket
            @id = id
            @max_body = max_body
            @version = "1.1"
            @unframed = false
            @socket.setsockopt(Socket::IPPROTO_TCP, Socket::TCP_NODELAY, 1)
            @socket.sync = true
          end

          # Reads one request. nil on a clean EOF between requests; raises Refused on anything malformed.
          def read_request
            line = read_line(allow_eof: true)
            line = read_line(allow_eof: true) while line == "" # RFC 9112 §2.2: ignore CRLFs before the request line
            return nil if line.nil?

            m = %r{\A([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP/(\d\.\d)\z}.match(line)
            raise Refused.new(400, "malformed request line") unless m
            raise Refused.new(505, "unsupported HTTP version #{m[3]}") unless %w[1.0 1.1].include?(m[3])

            @version = m[3]
            @unframed = false
            incoming = Incoming.new(method: m[1], target: m[2], version: m[3], headers: read_headers)
            incoming.body = read_body(incoming.headers)
            incoming
          end

          def keep_alive?(incoming)
            return false if @unframed

            tokens = incoming.headers["connection"].to_s.downcase.split(/\s*,\s*/)
            incoming.version == "1.1" ? !tokens.include?("close") : tokens.include?("keep-alive")
          end

          def respond(status, headers, body, head_only: false)
            body = body.to_s
            write_head(status, headers.merge("content-length" => body.bytesize.to_s))
            @socket.write(body) unless head_only || body.empty?
          end

          def write_head(status, headers)
            head = +"HTTP/1.1 #{status} #{REASONS.fetch(status, 'Unknown')}\r\n"
            headers.each { |k, v| head << "#{k}: #{v}\r\n" }
            @socket.write(head << "\r\n")
          end

          # A body of unknown length: chunked for HTTP/1.1; for HTTP/1.0 clients, unframed and ended by closing.
          def start_chunked(status, headers)
            @unframed = @version == "1.0"
            framing = @unframed ? { "connection" => "close" } : { "transfer-encoding" => "chunked" }
            write_head(status, headers.merge(framing))
          end

          def write_chunk(data)
            return if data.empty?

            @socket.write(@unframed ? data : "#{data.bytesize.to_s(16)}\r\n#{data}\r\n")
          end

          # Every piece as its own chunk, and the end of the body, in one write.
          def write_all_chunked(pieces)
            return @socket.write(pieces.join) if @unframed

            @socket.write(pieces.map { |d| "#{d.bytesize.to_s(16)}\r\n#{d}\r\n" }.join << "0\r\n\r\n")
          end

          def finish_chunked
            @socket.write("0\r\n\r\n") unless @unframed
          end

          # Abortive close: SO_LINGER 0 makes the kernel send RST instead of FIN.
          def reset!
            @socket.setsockopt(Socket::SOL_SOCKET, Socket::SO_LINGER, [1, 0].pack("ii"))
          rescue SystemCallError, IOError
            nil
          ensure
            close
          end

          # After refusing a body we did not read: half-close, then drain briefly so the client reads our answer
          # instead of getting a reset while it is still sending.
          def drain_and_close(seconds = 2)
            @socket.close_write
            deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + seconds
            while (left = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)).positive?
              break unless @socket.wait_readable(left)
              break if @socket.read_nonblock(65_536, exception: false).nil?
            end
          rescue SystemCallError, IOError
            nil
          ensure
            close
          end

          def close
            @socket.close unless @socket.closed?
          rescue SystemCallError, IOError
            nil
          end

          private

          def read_line(allow_eof: false)
            line = @socket.gets("\n", MAX_LINE)
            if line.nil?
              return nil if allow_eof

              raise EOFError, "connection closed mid-request"
            end
            raise Refused.new(431, "line too long") unless line.end_with?("\n")

            line.chomp
          end

          def read_headers
            headers = {}
            bytes = 0
            while (line = read_line) != ""
              bytes += line.bytesize
              raise Refused.new(431, "too many header bytes") if bytes > MAX_HEADER_BYTES
              raise Refused.new(431, "too many headers") if headers.size >= MAX_HEADERS
              raise Refused.new(400, "obsolete line folding") if line.start_with?(" ", "\t")

              name, value = line.split(":", 2)
              raise Refused.new(400, "malformed header") if value.nil? || name !~ /\A[!#$%&'*+.^_`|~0-9A-Za-z-]+\z/

              key = name.downcase
              value = value.strip
              headers[key] = headers.key?(key) ? "#{headers[key]}, #{value}" : value
            end
            headers
          end

          def read_body(headers)
            te = headers["transfer-encoding"]
            cl = headers["content-length"]
            raise Refused.new(400, "both transfer-encoding and content-length") if te && cl

            if te
              raise Refused.new(501, "unsupported transfer-encoding #{te}") unless te.strip.casecmp?("chunked")

              continue_if_expected(headers)
              return read_chunked_body
            end
            return +"" if cl.nil?

            lengths = cl.split(/\s*,\s*/).uniq
            raise Refused.new(400, "bad content-length") unless lengths.size == 1 && lengths[0].match?(/\A\d{1,15}\z/)

            length = Integer(lengths[0], 10)
            raise Refused.new(413, "request body of #{length} bytes exceeds #{@max_body}") if length > @max_body

            continue_if_expected(headers)
            read_exactly(length)
          end

          def continue_if_expected(headers)
            @socket.write("HTTP/1.1 100 Continue\r\n\r\n") if headers["expect"].to_s.casecmp?("100-continue")
          end

          def read_chunked_body
            body = +""
            loop do
              size_line = read_line
              raise Refused.new(400, "bad chunk size") unless (m = /\A(\h{1,15})(;.*)?\z/.match(size_line))

              size = m[1].to_i(16)
              if size.zero?
                nil while read_line != "" # trailers
                return body
              end
              raise Refused.new(413, "chunked request body exceeds #{@max_body}") if body.bytesize + size > @max_body

              body << read_exactly(size)
              raise Refused.new(400, "missing CRLF after chunk") unless read_line == ""
            end
          end

          def read_exactly(length)
            return +"" if length.zero?

            data = @socket.read(length)
            raise EOFError, "connection closed mid-body" if data.nil? || data.bytesize < length

            data
          end
        end
      end
    end
  end
end
