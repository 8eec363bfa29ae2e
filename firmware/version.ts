/** The lamp firmware's version, announced in every registration (Home Assistant shows it as the
 * device's software version). Raise it with every firmware change that reaches boards. */
export const FIRMWARE_VERSION = '0.2.0';
