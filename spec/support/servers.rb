# frozen_string_literal: true

require "fileutils"
require "rbconfig"
require "shellwords"
require "socket"
require "tmpdir"
require_relative "processes"
require_relative "ports"

# Debian's PostgreSQL and Redis servers for the Rails layer's specs: each started once per rspec process, on first
# use, on a free 127.0.0.1 port, in a throw-away directory under tmp/, and stopped at exit (a detached watchdog stops
# it when the process dies without running at_exit). A missing binary skips the examples that need it, unless
# AGENT_SDK_REQUIRE_SERVERS=1 (bin/test), where it fails them.
#
#   AgentSDKSpec::Servers.postgresql  # => #<PostgreSQL host port url create_database(name) drop_database(name)>
#   AgentSDKSpec::Servers.redis.url   # => "redis://127.0.0.1:PORT/0"
#
# Both raise Servers::Unavailable when the server cannot run here; inside an example use the Helpers
# (postgresql_server / redis_server), which skip instead.
module AgentSDKSpec
  ROOT = File.expand_path("../..", __dir__)

  # Things to undo at exit, last registered first (worker processes before the servers they use).
  module Cleanup
    @actions = []
    @mutex = Mutex.new

    def self.register(name, &block)
      @mutex.synchronize do
        unless @installed
          owner = Process.pid
          # Not in a forked child that exits through at_exit: the servers are the parent's.
          at_exit { AgentSDKSpec::Cleanup.run if Process.pid == owner }
        end
        @installed = true
        @actions << [name, block]
      end
    end

    def self.unregister(name)
      @mutex.synchronize { @actions.reject! { |n, _| n == name } }
    end

    def self.run
      while (action = @mutex.synchronize { @actions.pop })
        begin
          action[1].call
        rescue StandardError => e
          warn "cleanup of #{action[0]} failed: #{e.class}: #{e.message}"
        end
      end
    end

    # Runs `command` (a shell string) once this process is gone, from a process that is not our child (the specs
    # count their children) and not in our process group (a Ctrl-C in the terminal does not reach it). Its pid.
    def self.watchdog(command)
      script = File.join(__dir__, "bin", "watchdog")
      inner = "#{Shellwords.join(["sh", script, Process.pid.to_s, "sh", "-c", command])} </dev/null >/dev/null 2>&1 & echo $!"
      IO.popen(["sh", "-c", inner], pgroup: true, &:read).to_i
    end

    def self.kill_watchdog(pid)
      Process.kill("TERM", pid) if pid.positive?
    rescue Errno::ESRCH
      nil
    end
  end

  # Test artifacts (server and worker logs) of this rspec process: tmp/artifacts/<time>-<pid>/, the last 10 kept.
  def self.artifacts_dir
    @artifacts_dir ||= begin
      base = File.join(ROOT, "tmp", "artifacts")
      FileUtils.mkdir_p(base)
      Dir[File.join(base, "*")].sort[0...-9]&.each { |old| FileUtils.rm_rf(old) }
      dir = File.join(base, "#{Time.now.utc.strftime("%Y%m%d-%H%M%S")}-#{Process.pid}")
      FileUtils.mkdir_p(dir)
      dir
    end
  end

  module Servers
    class Unavailable < StandardError; end

    class << self
      def postgresql
        server(:postgresql) { PostgreSQL.start }
      end

      def redis
        server(:redis) { Redis.start }
      end

      def required?
        ENV["AGENT_SDK_REQUIRE_SERVERS"] == "1"
      end

      # A directory for a server's files: under the project's tmp/ unless its path is too long for a unix socket.
      def make_dir(prefix)
        base = File.join(ROOT, "tmp", "servers")
        base = Dir.tmpdir if base.bytesize > 60 || base.match?(/\s/)
        FileUtils.mkdir_p(base)
        Dir.mktmpdir("#{prefix}-#{Process.pid}-", base)
      end

      def which(name)
        ENV.fetch("PATH", "").split(File::PATH_SEPARATOR).map { |d| File.join(d, name) }
           .find { |path| File.file?(path) && File.executable?(path) }
      end

      def wait_until(timeout, what)
        deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
        until yield
          raise Unavailable, "#{what} not ready after #{timeout} s" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

          sleep 0.05
        end
      end

      private

      # Memoized, failures too: a server that could not start is not tried again by every example.
      def server(name)
        @servers ||= {}
        @servers[name] ||= begin
          yield
        rescue Unavailable => e
          e
        end
        result = @servers[name]
        raise Unavailable, result.message if result.is_a?(Unavailable)

        result
      end
    end

    # In an example (or a before(:context) hook): the server, or a skip (a failure under AGENT_SDK_REQUIRE_SERVERS=1).
    module Helpers
      def postgresql_server
        AgentSDKSpec::Servers.postgresql
      rescue AgentSDKSpec::Servers::Unavailable => e
        raise if AgentSDKSpec::Servers.required?

        skip("PostgreSQL: #{e.message}")
      end

      def redis_server
        AgentSDKSpec::Servers.redis
      rescue AgentSDKSpec::Servers::Unavailable => e
        raise if AgentSDKSpec::Servers.required?

        skip("Redis: #{e.message}")
      end
    end

    # A throw-away PostgreSQL cluster (initdb + pg_ctl; as root, through runuser -u postgres: initdb refuses root).
    class PostgreSQL
      USER = "postgres"

      attr_reader :host, :port, :user, :dir, :log_path

      def self.bindir
        dirs = [ENV["PG_BINDIR"], *Dir["/usr/lib/postgresql/*/bin"].sort_by { |d| d[%r{/(\d+)/bin\z}, 1].to_i }.reverse]
        found = dirs.compact.find { |d| File.executable?(File.join(d, "initdb")) }
        found || (initdb = Servers.which("initdb")) && File.dirname(initdb)
      end

      def self.start
        bindir = self.bindir or raise Unavailable, "initdb not found (bin/setup installs Debian's postgresql)"
        new(bindir).tap(&:start)
      end

      def initialize(bindir)
        @bindir = bindir
        @host = "127.0.0.1"
        @user = USER
      end

      def start
        as_root = Process.uid.zero?
        raise Unavailable, "running as root and there is no #{USER} user to run initdb as" if as_root && !user_exists?

        @dir = Servers.make_dir("pg")
        data = File.join(@dir, "data")
        sock = File.join(@dir, "sock")
        @log_path = File.join(@dir, "server.log")
        FileUtils.mkdir_p([data, sock])
        File.chmod(0o700, data)
        FileUtils.chown_R(USER, nil, @dir) if as_root
        run!("initdb", "-D", data, "-U", USER, "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync")
        attempts = 0
        begin
          @port = AgentSDKSpec.free_port
          run!("pg_ctl", "-D", data, "-l", @log_path, "-w", "-t", "30", "-o",
               "-p #{@port} -c listen_addresses=#{@host} -k #{sock} -c fsync=off -c synchronous_commit=off " \
               "-c full_page_writes=off -c max_connections=200", "start")
        rescue Unavailable
          attempts += 1
          retry if attempts < 3 # the free port was taken in between
          raise
        end
        @watchdog = Cleanup.watchdog("#{Shellwords.join(command("pg_ctl", "-D", data, "-m", "immediate", "stop"))}; " \
                                     "rm -rf #{Shellwords.escape(@dir)}")
        Cleanup.register(:postgresql) { stop }
        self
      rescue StandardError
        FileUtils.rm_rf(@dir) if @dir
        raise
      end

      def stop
        return unless @dir

        run!("pg_ctl", "-D", File.join(@dir, "data"), "-m", "fast", "-w", "stop")
        FileUtils.cp(@log_path, File.join(AgentSDKSpec.artifacts_dir, "postgresql.log")) if File.exist?(@log_path)
        FileUtils.rm_rf(@dir)
        Cleanup.kill_watchdog(@watchdog)
        @dir = nil
      end

      def url(database = "postgres")
        "postgres://#{@user}@#{@host}:#{@port}/#{database}"
      end

      def create_database(name)
        run!("createdb", "-h", @host, "-p", @port.to_s, "-U", @user, name)
        url(name)
      end

      def drop_database(name)
        run!("dropdb", "--if-exists", "-h", @host, "-p", @port.to_s, "-U", @user, name)
      end

      # psql -c SQL against database (tuples only, unaligned): what a spec asks the server without a client gem.
      def psql(database, sql)
        out = IO.popen(command("psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", @host, "-p", @port.to_s,
                               "-U", @user, "-d", database, "-c", sql), err: %i[child out], &:read)
        raise Unavailable, "psql failed: #{out}" unless $?.success?

        out
      end

      private

      def user_exists?
        require "etc"
        !Etc.getpwnam(USER).nil?
      rescue ArgumentError
        false
      end

      def command(tool, *args)
        argv = [File.join(@bindir, tool), *args]
        Process.uid.zero? ? ["runuser", "-u", USER, "--", *argv] : argv
      end

      def run!(tool, *args)
        out = IO.popen(command(tool, *args), err: %i[child out], chdir: Dir.tmpdir, pgroup: true, &:read)
        return out if $?.success?

        log = @log_path && File.exist?(@log_path) ? File.read(@log_path)[-2000..] || File.read(@log_path) : ""
        raise Unavailable, "#{tool} failed (#{$?}): #{out.strip}\n#{log}"
      end
    end

    # redis-server on a private port, daemonized, nothing saved.
    class Redis
      attr_reader :port, :dir

      def self.start
        bin = Servers.which("redis-server") or raise Unavailable, "redis-server not found (bin/setup installs it)"
        new(bin).tap(&:start)
      end

      def initialize(bin)
        @bin = bin
      end

      def start
        @dir = Servers.make_dir("redis")
        @pidfile = File.join(@dir, "redis.pid")
        @log_path = File.join(@dir, "redis.log")
        attempts = 0
        begin
          @port = AgentSDKSpec.free_port
          ok = system(@bin, "--port", @port.to_s, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                      "--dir", @dir, "--daemonize", "yes", "--pidfile", @pidfile, "--logfile", @log_path,
                      out: File::NULL, err: File::NULL)
          raise Unavailable, "redis-server did not start" unless ok

          Servers.wait_until(10, "redis-server on port #{@port}") { ping == "+PONG" }
        rescue Unavailable
          attempts += 1
          retry if attempts < 3 && !pid
          raise
        end
        @watchdog = Cleanup.watchdog("kill $(cat #{Shellwords.escape(@pidfile)}); sleep 1; rm -rf #{Shellwords.escape(@dir)}")
        Cleanup.register(:redis) { stop }
        self
      rescue StandardError
        FileUtils.rm_rf(@dir) if @dir && !pid
        raise
      end

      def url(db = 0)
        "redis://127.0.0.1:#{@port}/#{db}"
      end

      def pid
        Integer(File.read(@pidfile).strip) if @pidfile && File.exist?(@pidfile)
      rescue ArgumentError
        nil
      end

      # One command over a raw socket (RESP inline): the reply's first line.
      def ping
        TCPSocket.open("127.0.0.1", @port) do |s|
          s.write("PING\r\n")
          s.gets&.chomp
        end
      rescue SystemCallError
        nil
      end

      def stop
        return unless @dir

        if (server = pid)
          Process.kill("TERM", server)
          Servers.wait_until(10, "redis-server exit") { !alive?(server) }
        end
        FileUtils.cp(@log_path, File.join(AgentSDKSpec.artifacts_dir, "redis.log")) if File.exist?(@log_path)
        FileUtils.rm_rf(@dir)
        Cleanup.kill_watchdog(@watchdog)
        @dir = nil
      end

      private

      def alive?(pid) = Processes.alive?(pid)
    end
  end
end

RSpec.configure { |config| config.include AgentSDKSpec::Servers::Helpers } if defined?(RSpec)
