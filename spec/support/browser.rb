# frozen_string_literal: true

require "fileutils"
require_relative "servers"

# Debian's headless Chromium (/usr/bin/chromium, or CHROMIUM) for the browser specs, driven over the DevTools
# protocol by Ferrum (required on first use: the other specs never load it): no chromedriver, no browser download. One browser per rspec process, started on first use with
# a fresh profile (--user-data-dir in a temporary directory Ferrum removes), quit at exit (a watchdog kills it when
# the process dies without running at_exit). Each example gets a page of its own:
#
#   browser_page.visit("http://127.0.0.1:#{port}/agent_sessions/1")
#   browser_page.wait_for("#agent_messages .agent-message", count: 3)   # polls, with a deadline
#   browser_page.texts("#agent_messages .agent-message__type")
#
# Every console.error / console.assert, uncaught exception and browser log error (a failed request, a refused
# WebSocket) of the page is collected; an example of a `:browser` group fails on any, with the list. After each
# example the page's screenshot is saved as tmp/artifacts/browser/<example>.png (also when it failed).
module AgentSDKSpec
  module Browser
    FLAGS = { "headless" => nil, "no-sandbox" => nil, "disable-gpu" => nil, "disable-quic" => nil,
              "no-first-run" => nil, "disable-background-networking" => nil, "disable-component-update" => nil,
              "disable-sync" => nil }.freeze
    ARTIFACTS = File.join(ROOT, "tmp", "artifacts", "browser")

    class Timeout < StandardError; end

    class << self
      def path
        ENV["CHROMIUM"] || Servers.which("chromium") || Servers.which("chromium-browser")
      end

      # The Ferrum::Browser of this process (started on first use).
      def instance
        @instance ||= start
      end

      def quit
        browser = @instance
        @instance = nil
        return unless browser

        pid = browser.process&.pid
        browser.quit
        Cleanup.kill_watchdog(@watchdog) if @watchdog
        Process.kill("KILL", pid) if pid && alive?(pid) # quit waits for it; this is for a browser that hung
      rescue Errno::ESRCH
        nil
      end

      # Screenshots of this run: emptied once per process, so none left over from an earlier run misleads.
      def artifacts_dir
        @artifacts_dir ||= begin
          FileUtils.rm_rf(ARTIFACTS)
          FileUtils.mkdir_p(ARTIFACTS)
          ARTIFACTS
        end
      end

      private

      def start
        chromium = path or raise Servers::Unavailable, "chromium not found (bin/setup installs Debian's chromium)"
        require "ferrum"
        browser = Ferrum::Browser.new(browser_path: chromium, browser_options: FLAGS, headless: true,
                                      window_size: [1280, 900], timeout: 30, process_timeout: 60)
        pid = browser.process.pid
        @watchdog = Cleanup.watchdog("kill -KILL #{pid}")
        Cleanup.register(:browser) { quit }
        browser
      end

      def alive?(pid) = Processes.alive?(pid)
    end

    # One browser tab (its own browser context: no cookies shared between examples) and what went wrong in it.
    class Page
      attr_reader :errors, :ferrum

      def initialize(browser)
        @context = browser.contexts.create
        @ferrum = @context.create_page
        @errors = []
        @lock = Mutex.new
        subscribe
      end

      def visit(url)
        @ferrum.go_to(url)
        self
      end

      def url
        @ferrum.current_url
      end

      # Polls until the block is truthy (its value is returned); raises Timeout with `what` after `timeout` seconds.
      def wait_until(what, timeout: 30, interval: 0.1)
        deadline = monotonic + timeout
        loop do
          result = yield
          return result if result
          raise Timeout, "timed out after #{timeout} s waiting for #{what} on #{url}#{error_summary}" if monotonic > deadline

          sleep interval
        end
      end

      # The elements matching `selector` once there are at least `count` (exactly `count` with exact: true).
      def wait_for(selector, count: 1, exact: false, timeout: 30)
        wait_until("#{exact ? '' : 'at least '}#{count} × #{selector}", timeout: timeout) do
          nodes = @ferrum.css(selector)
          nodes if exact ? nodes.size == count : nodes.size >= count
        end
      end

      def texts(selector)
        @ferrum.css(selector).map { |node| node.text.strip }
      end

      # The attribute `name` of each element matching `selector` (in document order).
      def attributes(selector, name)
        @ferrum.evaluate("Array.from(document.querySelectorAll(#{selector.to_json})).map(e => e.getAttribute(#{name.to_json}))")
      end

      def text(selector)
        @ferrum.at_css(selector)&.text&.strip
      end

      def click(selector)
        node = wait_for(selector).first
        node.click
      end

      # The button (or submit input) whose text is `label`.
      def click_button(label, timeout: 30)
        xpath = "//button[normalize-space()=#{xpath_literal(label)}] | //input[@type='submit' and @value=#{xpath_literal(label)}]"
        node = wait_until("a button #{label.inspect}", timeout: timeout) { @ferrum.at_xpath(xpath) }
        node.click
      end

      def fill_in(selector, with:)
        node = wait_for(selector).first
        node.focus.type(with)
      end

      # The value of a JavaScript expression.
      def evaluate(js)
        @ferrum.evaluate(js)
      end

      # JavaScript statements, run for their effect.
      def execute(js)
        @ferrum.execute(js)
      end

      def screenshot(name)
        path = File.join(Browser.artifacts_dir, "#{name}.png")
        @ferrum.screenshot(path: path, full: true)
        path
      rescue Ferrum::Error => e
        warn "screenshot #{name} failed: #{e.class}: #{e.message}"
        nil
      end

      def close
        @context&.dispose
        @context = nil
      rescue Ferrum::Error
        nil
      end

      def error_summary
        list = @lock.synchronize { @errors.dup }
        list.empty? ? "" : "\nJavaScript errors on the page:\n#{list.map { |e| "  - #{e}" }.join("\n")}"
      end

      private

      def subscribe
        @ferrum.on("Runtime.consoleAPICalled") do |params|
          next unless %w[error assert].include?(params["type"])

          args = Array(params["args"]).map { |arg| arg["value"] || arg["description"] || arg["type"] }
          record("console.#{params['type']}: #{args.join(' ')}")
        end
        @ferrum.on("Runtime.exceptionThrown") do |params|
          details = params["exceptionDetails"] || {}
          record("uncaught: #{details.dig('exception', 'description') || details['text']}")
        end
        @ferrum.on("Log.entryAdded") do |params|
          entry = params["entry"] || {}
          record("#{entry['source']} error: #{entry['text']} #{entry['url']}".strip) if entry["level"] == "error"
        end
      end

      def record(text)
        @lock.synchronize { @errors << text }
      end

      def xpath_literal(text)
        text.include?("'") ? "concat('#{text.split("'").join("', \"'\", '")}')" : "'#{text}'"
      end

      def monotonic
        Process.clock_gettime(Process::CLOCK_MONOTONIC)
      end
    end

    # What a `:browser` group gets: `browser_page` (a fresh Page per example), its screenshot after the example, and a
    # failure when the page logged any JavaScript error.
    module Group
      def self.included(group)
        group.after do |example|
          next unless @browser_page

          name = example.full_description.downcase.gsub(/[^a-z0-9]+/, "-").gsub(/\A-|-\z/, "")[0, 120]
          @browser_page.screenshot(name)
          summary = @browser_page.error_summary
          @browser_page.close
          @browser_page = nil
          next if summary.empty?
          raise RSpec::Expectations::ExpectationNotMetError, summary.strip unless example.exception

          RSpec.configuration.reporter.message("#{example.full_description}:#{summary}")
        end
      end

      def browser_page
        @browser_page ||= Page.new(AgentSDKSpec::Browser.instance)
      rescue AgentSDKSpec::Servers::Unavailable => e
        raise if AgentSDKSpec::Servers.required?

        skip("Chromium: #{e.message}")
      end
    end
  end
end

RSpec.configure { |config| config.include AgentSDKSpec::Browser::Group, :browser } if defined?(RSpec)
