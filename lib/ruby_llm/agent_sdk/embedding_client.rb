# frozen_string_literal: true

require "json"
require "net/http"
require "openssl"
require "uri"

module RubyLLM
  module AgentSDK
    # An embeddings request failed (HTTP status, network, or a body that is not OpenAI's shape). `status` is the HTTP
    # status when there was one. Its message never carries the key (Error).
    class EmbeddingError < Error
      attr_reader :status

      def initialize(message, status: nil)
        @status = status
        super(message)
      end

      # Worth trying again: no answer at all, 408, 429 or a 5xx.
      def retriable?
        status.nil? || status == 408 || status == 429 || status >= 500
      end
    end

    # A small client for an OpenAI-compatible POST /v1/embeddings (OpenAI, a gateway, a local server, the
    # FakeServer). Net::HTTP, TLS verified, one connection per call: it runs in background jobs and tools, not in
    # the agent's hot path.
    #
    #   client = EmbeddingClient.new(model: "text-embedding-3-small")  # OPENAI_BASE_URL / OPENAI_API_KEY by default
    #   client.embed("refund policy")            # => [0.0123, -0.0456, …]
    #   client.embed_all(["a", "b"])             # => [[…], […]], in input order
    #
    # `base_url` may end in /v1 (…/v1/embeddings is called) or be bare (/v1/embeddings is appended).
    # EmbeddingClient.default is the process-wide client the Embeddable concern and the Retrieval tool use unless
    # given one; set it in an initializer (or a test) with EmbeddingClient.default = EmbeddingClient.new(…).
    class EmbeddingClient
      DEFAULT_BASE_URL = "https://api.openai.com/v1"
      DEFAULT_MODEL = "text-embedding-3-small"

      class << self
        attr_writer :default

        def default
          @default ||= new
        end
      end

      attr_reader :model, :dimensions, :timeout

      def initialize(base_url: ENV.fetch("OPENAI_BASE_URL", DEFAULT_BASE_URL), api_key: ENV.fetch("OPENAI_API_KEY", nil),
                     model: DEFAULT_MODEL, dimensions: nil, timeout: 30, headers: {})
        @uri = endpoint(base_url)
        @api_key = api_key
        @model = model.to_s
        raise ArgumentError, "model must be a non-empty String" if @model.empty?
        raise ArgumentError, "dimensions must be a positive Integer or nil" unless dimensions.nil? || (dimensions.is_a?(Integer) && dimensions.positive?)
        raise ArgumentError, "timeout must be a positive number" unless timeout.is_a?(Numeric) && timeout.positive?

        @dimensions = dimensions
        @timeout = timeout
        @headers = headers.to_h { |k, v| [k.to_s, v.to_s] }
      end

      # The vector of one text.
      def embed(text, model: @model, dimensions: @dimensions)
        embed_all([text], model: model, dimensions: dimensions).first
      end

      # The vectors of several texts in one request, in their order.
      def embed_all(texts, model: @model, dimensions: @dimensions)
        texts = Array(texts).map(&:to_s)
        raise ArgumentError, "nothing to embed" if texts.empty?

        body = { model: model, input: texts }
        body[:dimensions] = dimensions if dimensions
        data = post(body).fetch("data")
        vectors = data.sort_by { |d| d.fetch("index") }.map { |d| d.fetch("embedding") }
        raise EmbeddingError, "embeddings: #{vectors.size} vectors for #{texts.size} inputs" unless vectors.size == texts.size

        vectors
      rescue KeyError, TypeError, NoMethodError => e
        raise EmbeddingError, "embeddings: unexpected response shape (#{e.message})"
      end

      def base_url
        Redaction.url(@uri.to_s.delete_suffix("/embeddings"))
      end

      def inspect
        "#<#{self.class} #{@uri.host}#{@uri.path} model=#{@model.inspect} api_key=#{@api_key ? Redaction::MARK : "nil"}>"
      end

      private

      def endpoint(base_url)
        uri = URI(base_url.to_s)
        raise ArgumentError, "base_url must be an http(s) URL" unless uri.is_a?(URI::HTTP) && uri.host

        path = uri.path.delete_suffix("/")
        uri.path = path.empty? ? "/v1/embeddings" : "#{path}/embeddings"
        uri
      rescue URI::InvalidURIError
        raise ArgumentError, "base_url is not a URL: #{Redaction.url(base_url)}"
      end

      def post(body)
        req = Net::HTTP::Post.new(@uri.request_uri, "content-type" => "application/json", "accept" => "application/json")
        req["authorization"] = "Bearer #{@api_key}" if @api_key && !@api_key.empty?
        @headers.each { |k, v| req[k] = v }
        req.body = JSON.generate(body)
        res = http.request(req)
        parsed = parse(res.body)
        return parsed if res.is_a?(Net::HTTPSuccess) && parsed.is_a?(Hash)

        message = parsed.is_a?(Hash) && parsed["error"].is_a?(Hash) ? parsed["error"]["message"] : res.body.to_s[0, 200]
        raise EmbeddingError.new(scrub("embeddings: HTTP #{res.code} from #{base_url}: #{message}"), status: res.code.to_i)
      rescue Timeout::Error, SystemCallError, IOError, OpenSSL::SSL::SSLError, SocketError => e
        raise EmbeddingError, scrub("embeddings: #{e.class} talking to #{base_url}: #{e.message}")
      end

      # This client's own key, whatever its shape (Error's Redaction catches key-shaped ones and ENV's).
      def scrub(text)
        return text if @api_key.nil? || @api_key.length < Redaction::MIN_SECRET

        text.gsub(@api_key, Redaction::MARK)
      end

      def http
        http = Net::HTTP.new(@uri.host, @uri.port)
        http.use_ssl = @uri.scheme == "https"
        http.verify_mode = OpenSSL::SSL::VERIFY_PEER if http.use_ssl?
        http.open_timeout = http.read_timeout = http.write_timeout = @timeout
        http
      end

      def parse(text)
        JSON.parse(text.to_s)
      rescue JSON::ParserError
        nil
      end
    end
  end
end
