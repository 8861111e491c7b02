# frozen_string_literal: true

require "socket"

# A 127.0.0.1 port nothing listens on (bound, then closed): a connection to it is refused.
module ClosedPort
  def closed_port
    s = TCPServer.new("127.0.0.1", 0)
    s.local_address.ip_port
  ensure
    s&.close
  end
end

RSpec.configure { |config| config.include ClosedPort } if defined?(RSpec)

module AgentSDKSpec
  # A 127.0.0.1 port free a moment ago (bound to port 0, then closed), for a server the specs start.
  def self.free_port
    s = TCPServer.new("127.0.0.1", 0)
    s.local_address.ip_port
  ensure
    s&.close
  end
end
