# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    # Keeps API keys and other credentials out of every text the gem itself makes: Options#inspect, ArgumentError
    # and Error messages, what it logs, and the lines its session stores write.
    #
    #   Redaction.text("GET https://u:pw@gw.example/v1?key=abc x-api-key: sk-ant-api03-…")
    #   # => "GET https://[REDACTED]@gw.example/v1?key=[REDACTED] x-api-key: [REDACTED]"
    #
    # Two rules: a value that is a secret by where it sits (api_key:, env: values, settings: JSON, URL userinfo and
    # credential query parameters) is replaced whatever it looks like; in free text (exception messages, stderr,
    # transcript lines) anything shaped like a key or an auth header is replaced, and so is the exact value of the
    # API key variables in ENV. Replacements only insert "[REDACTED]", so JSON text stays JSON.
    module Redaction
      MARK = "[REDACTED]"

      # Environment variables whose values are keys wherever they turn up.
      SECRET_ENV = %w[ANTHROPIC_API_KEY ANTHROPIC_AUTH_TOKEN OPENAI_API_KEY CLAUDE_CODE_OAUTH_TOKEN].freeze
      MIN_SECRET = 8 # shorter exact values are not searched for: they would match ordinary words

      KEY_SHAPED = /\b(?:sk|rk|pk)-[A-Za-z0-9_-]{16,}/.freeze # sk-ant-api03-…, sk-proj-…, sk-…
      BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+\/=-]{8,}/i.freeze
      AUTH_HEADER = /\b((?:proxy-)?authorization|x-api-key|api-key|x-goog-api-key)(\\?"?\s*[:=]\s*\\?"?)(?:(?:Bearer|Basic)\s+)?[^\s",;\\]+/i.freeze
      USERINFO = %r{\b(https?://)[^/\s@"\\]+@}i.freeze
      QUERY_SECRET = /([?&](?:api[_-]?key|key|token|access[_-]?token|auth|password|secret|signature|sig)=)[^&\s#"\\]+/i.freeze

      module_function

      # Free text with every key-shaped value, auth header value, URL credential and ENV key replaced.
      def text(value)
        s = value.to_s
        s = s.scrub unless s.valid_encoding?
        SECRET_ENV.each do |name|
          secret = ENV.fetch(name, nil)
          s = s.gsub(secret, MARK) if secret && secret.length >= MIN_SECRET && s.include?(secret)
        end
        s.gsub(USERINFO, "\\1#{MARK}@").gsub(QUERY_SECRET, "\\1#{MARK}").gsub(AUTH_HEADER, "\\1\\2#{MARK}")
         .gsub(BEARER, "\\1 #{MARK}").gsub(KEY_SHAPED, MARK)
      end

      # A URL with its userinfo and credential query parameters replaced.
      def url(value)
        value.to_s.gsub(USERINFO, "\\1#{MARK}@").gsub(QUERY_SECRET, "\\1#{MARK}")
      end

      # How an option's value may be shown in #inspect or an error message.
      def option(name, value)
        case name
        when :api_key then value.nil? ? "nil" : MARK
        when :env then env(value)
        when :settings then settings(value)
        when :mcp_servers then mcp_servers(value)
        when :base_url then value.is_a?(String) ? url(value).inspect : text(value.inspect)
        else text(value.inspect)
        end
      end

      # env: every value is hidden (keys are shown): README puts ANTHROPIC_API_KEY there.
      def env(value)
        return text(value.inspect) unless value.is_a?(Hash)

        "{#{value.map { |k, v| "#{text(k.inspect)}=>#{v.nil? ? "nil" : MARK}" }.join(", ")}}"
      end

      # mcp_servers: each server's env and header values are hidden (tokens go there); the rest is shown.
      def mcp_servers(value)
        return text(value.inspect) unless value.is_a?(Hash)

        shown = value.to_h do |name, config|
          next [name, config] unless config.is_a?(Hash)

          [name, config.to_h { |k, v| [k, %w[env headers].include?(k.to_s) && v.is_a?(Hash) ? v.transform_values { MARK } : v] }]
        end
        text(shown.inspect)
      end

      # settings: inline JSON (a Hash or a String starting with "{") may hold env and keys: hidden; a path is shown.
      def settings(value)
        inline = value.is_a?(Hash) || (value.is_a?(String) && value.lstrip.start_with?("{"))
        inline ? MARK : text(value.inspect)
      end
    end
  end
end
