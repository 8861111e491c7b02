# frozen_string_literal: true

require "spec_helper"
require "open3"
require "rbconfig"

# The servers the Rails layer's specs run against (spec/support/servers.rb). No Rails here: the pg and redis-client
# gems talk to them directly.
RSpec.describe AgentSDKSpec::Servers, :servers do
  describe ".postgresql" do
    it "is a throw-away cluster on a private 127.0.0.1 port where a database with a jsonb column round-trips" do
      require "pg"
      pg = postgresql_server
      expect(pg.host).to eq("127.0.0.1")
      expect(pg.port).to be_between(1024, 65_535)
      name = "servers_spec_#{Process.pid}_#{rand(1_000_000)}"
      url = pg.create_database(name)
      expect(url).to eq("postgres://postgres@127.0.0.1:#{pg.port}/#{name}")
      begin
        conn = PG.connect(url)
        conn.exec("CREATE TABLE docs (id serial PRIMARY KEY, data jsonb NOT NULL DEFAULT '{}')")
        conn.exec_params("INSERT INTO docs (data) VALUES ($1)", [JSON.generate("tags" => %w[a b], "n" => 3)])
        row = conn.exec("SELECT pg_typeof(data)::text AS type, data->'tags'->>1 AS tag, data FROM docs").first
        expect(row.values_at("type", "tag")).to eq(%w[jsonb b])
        expect(JSON.parse(row["data"])).to eq("tags" => %w[a b], "n" => 3)
        expect(conn.exec("SELECT count(*) FROM docs WHERE data @> '{\"tags\": [\"a\"]}'").getvalue(0, 0)).to eq("1")
        expect(conn.exec("SHOW fsync").getvalue(0, 0)).to eq("off")
      ensure
        conn&.close
        pg.drop_database(name)
      end
    end

    it "is started once per process" do
      expect(postgresql_server).to equal(AgentSDKSpec::Servers.postgresql)
    end
  end

  describe ".redis" do
    it "answers PING through redis-client (Sidekiq's client) and keeps nothing on disk" do
      require "redis_client"
      redis = redis_server
      expect(redis.url).to match(%r{\Aredis://127\.0\.0\.1:\d+/0\z})
      client = RedisClient.new(url: redis.url)
      begin
        expect(client.call("PING")).to eq("PONG")
        client.call("SET", "servers_spec", "1")
        expect(client.call("GET", "servers_spec")).to eq("1")
        expect(client.call("CONFIG", "GET", "save").to_a.flatten).to eq(["save", ""])
      ensure
        client.close
      end
    end
  end

  describe "a server that cannot run here" do
    it "is Unavailable when its binary is missing" do
      allow(AgentSDKSpec::Servers).to receive(:which).and_return(nil)
      expect { AgentSDKSpec::Servers::Redis.start }.to raise_error(AgentSDKSpec::Servers::Unavailable, /redis-server not found/)
    end

    skipped = Class.new(StandardError)
    # An object standing in for an example, whose skip raises `skipped`.
    let(:example_like) do
      Class.new do
        include AgentSDKSpec::Servers::Helpers

        define_method(:skip) { |message| raise skipped, message }
      end.new
    end

    before { allow(AgentSDKSpec::Servers).to receive(:redis).and_raise(AgentSDKSpec::Servers::Unavailable, "not here") }

    it "skips the example that needs it" do
      stub_const("ENV", ENV.to_h.merge("AGENT_SDK_REQUIRE_SERVERS" => nil))
      expect { example_like.redis_server }.to raise_error(skipped, "Redis: not here")
    end

    it "fails it under AGENT_SDK_REQUIRE_SERVERS=1 (bin/test)" do
      stub_const("ENV", ENV.to_h.merge("AGENT_SDK_REQUIRE_SERVERS" => "1"))
      expect { example_like.redis_server }.to raise_error(AgentSDKSpec::Servers::Unavailable, "not here")
    end
  end

  # A process that started both servers and then dies: on an interrupt its at_exit hooks stop them; killed outright,
  # the watchdogs do. Either way nothing keeps running and the directories are gone.
  describe "when the rspec process ends" do
    let(:support) { File.expand_path("../support/servers.rb", __dir__) }

    def start_child
      skip("needs PostgreSQL and Redis") unless postgresql_server && redis_server
      code = <<~RUBY
        # an interrupt ends it as an interrupted rspec would (130), without a backtrace in the suite's output
        trap("INT") { exit 130 }
        require #{support.dump}
        pg = AgentSDKSpec::Servers.postgresql
        redis = AgentSDKSpec::Servers.redis
        postmaster = Integer(File.read(File.join(pg.dir, "data", "postmaster.pid")).lines.first)
        puts [postmaster, redis.pid, pg.dir, redis.dir].join(" ")
        $stdout.flush
        sleep
      RUBY
      stdin, stdout, wait = Open3.popen2(RbConfig.ruby, "-e", code)
      stdin.close
      line = stdout.gets or raise "the child printed nothing (#{wait.value})"
      postmaster, redis_pid, *dirs = line.split
      [wait, [Integer(postmaster), Integer(redis_pid)], dirs]
    end

    # Running, and not a zombie (the container's init may not reap what is reparented to it).
    def running?(pid)
      File.read("/proc/#{pid}/stat")[/\) (\S)/, 1] != "Z"
    rescue Errno::ENOENT
      false
    end

    def expect_gone(pids, dirs, within:)
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + within
      sleep 0.1 while (pids.any? { |p| running?(p) } || dirs.any? { |d| File.exist?(d) }) &&
                      Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
      expect(pids.select { |p| running?(p) }).to eq([])
      expect(dirs.select { |d| File.exist?(d) }).to eq([])
    end

    it "stops both servers on Ctrl-C (SIGINT: at_exit)" do
      wait, pids, dirs = start_child
      expect(pids.map { |p| running?(p) }).to eq([true, true])
      Process.kill("INT", wait.pid)
      wait.value
      expect_gone(pids, dirs, within: 5)
    end

    it "stops both servers when killed with SIGKILL (the watchdogs)" do
      wait, pids, dirs = start_child
      Process.kill("KILL", wait.pid)
      wait.value
      expect_gone(pids, dirs, within: 10)
    end
  end
end
